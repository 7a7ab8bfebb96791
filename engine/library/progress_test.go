package library

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest"
)

// stepClock advances a second at every reading, so that every position
// has its own time.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func TestProgress(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	e := n.Engine
	clk := &stepClock{t: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)}
	lib, err := New(Options{Store: n.Store, Source: e, Logger: enginetest.Logger(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for i := range 3 {
		files["ep"+strconv.Itoa(i)+".mkv"] = []byte("not really a film " + strconv.Itoa(i))
	}
	tv := addFiles(t, e, "Series", files)
	if _, err := lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for _, f := range tv.Files {
		index[f.Path] = f.Index
	}
	ep0, ep1, ep2 := index["ep0.mkv"], index["ep1.mkv"], index["ep2.mkv"]

	for _, tc := range []struct {
		pos, dur float64
		want     error
	}{
		{-1, 100, ErrBadQuery}, {10, 0, ErrBadQuery}, {math.NaN(), 100, ErrBadQuery}, {10, math.Inf(1), ErrBadQuery},
	} {
		if err := lib.SetProgress(tv.ID, ep0, tc.pos, tc.dur); !errors.Is(err, tc.want) {
			t.Errorf("SetProgress(%v, %v) = %v, want %v", tc.pos, tc.dur, err, tc.want)
		}
	}
	if err := lib.SetProgress(tv.ID, 99, 10, 100); !errors.Is(err, ErrNoItem) {
		t.Errorf("SetProgress(no such file) = %v, want ErrNoItem", err)
	}
	if err := lib.SetProgress(tv.ID+100, 0, 10, 100); !errors.Is(err, ErrNoItem) {
		t.Errorf("SetProgress(no such torrent) = %v, want ErrNoItem", err)
	}

	must := func(idx int, pos, dur float64) {
		t.Helper()
		if err := lib.SetProgress(tv.ID, idx, pos, dur); err != nil {
			t.Fatalf("SetProgress(%d, %v, %v): %v", idx, pos, dur, err)
		}
	}
	list := func() []string {
		t.Helper()
		w, err := lib.Continue(0)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, it := range w {
			s = append(s, it.Name+"@"+strconv.FormatFloat(it.Position, 'f', -1, 64))
		}
		return s
	}
	must(ep0, 100, 1000)
	must(ep1, 200, 1000)
	must(ep0, 300, 1000) // ep0 again: newest, one entry
	if got, want := list(), []string{"ep0.mkv@300", "ep1.mkv@200"}; !equal(got, want) {
		t.Errorf("Continue = %v, want %v", got, want)
	}
	if w, _ := lib.Continue(1); len(w) != 1 || w[0].Index != ep0 || w[0].Duration != 1000 || w[0].Torrent != tv.ID || w[0].Kind != KindVideo {
		t.Errorf("Continue(1) = %+v, want ep0 with its item fields", w)
	}
	must(ep1, 960, 1000)  // finished: 96 %
	must(ep2, 2000, 1000) // clamped to the duration: finished
	if got, want := list(), []string{"ep0.mkv@300"}; !equal(got, want) {
		t.Errorf("Continue after finishing ep1 and ep2 = %v, want %v", got, want)
	}
	if _, err := lib.GetProgress(tv.ID, ep1); !errors.Is(err, ErrNoItem) {
		t.Errorf("GetProgress(finished) = %v, want ErrNoItem", err)
	}
	if p, err := lib.GetProgress(tv.ID, ep0); err != nil || p.Position != 300 {
		t.Errorf("GetProgress(ep0) = %+v, %v, want 300", p, err)
	}

	// Removing the torrent forgets its positions.
	if err := e.Remove(tv.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Errorf("Continue after removing the torrent = %v, want nothing", got)
	}
	if _, err := lib.GetProgress(tv.ID, ep0); !errors.Is(err, ErrNoItem) {
		t.Errorf("GetProgress after removing the torrent = %v, want ErrNoItem", err)
	}
}

// TestProgressBound: only the MaxProgress newest positions are kept.
func TestProgressBound(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	e := n.Engine
	clk := &stepClock{t: time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)}
	lib, err := New(Options{Store: n.Store, Source: e, Logger: enginetest.Logger(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	const files = MaxProgress + 20
	m := map[string][]byte{}
	for i := range files {
		m["f"+strconv.Itoa(i)+".mp3"] = []byte{byte(i), byte(i >> 8)}
	}
	tt := addFiles(t, e, "Many", m)
	if _, err := lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if err := lib.SetProgress(tt.ID, i, 1, 100); err != nil {
			t.Fatal(err)
		}
	}
	w, err := lib.Continue(MaxProgress + 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != MaxProgress {
		t.Fatalf("Continue after %d positions = %d, want %d", files, len(w), MaxProgress)
	}
	if w[0].Index != files-1 || w[len(w)-1].Index != files-MaxProgress {
		t.Errorf("Continue keeps indexes %d..%d, want the newest %d..%d", w[0].Index, w[len(w)-1].Index, files-1, files-MaxProgress)
	}
	keys := 0
	n.Store.Scan([]byte("library/progress/"), func(_, _ []byte) error { keys++; return nil })
	if keys != 2*MaxProgress {
		t.Errorf("progress keys in the store = %d, want %d", keys, 2*MaxProgress)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPaddingFilesLeftOut: BEP 47 padding files (".pad/N", which channel
// torrents have between files) are not library items.
func TestPaddingFilesLeftOut(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	lib, err := New(Options{Store: n.Store, Source: n.Engine})
	if err != nil {
		t.Fatal(err)
	}
	addFiles(t, n.Engine, "Padded", map[string][]byte{"a.mp3": []byte("aaa"), ".pad/100": make([]byte, 100)})
	if _, err := lib.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	p, err := lib.Find(Query{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p); len(got) != 1 || got[0] != "a.mp3" {
		t.Errorf("library = %v, want only a.mp3", got)
	}
}
