package share

import (
	"errors"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.Open(store.Options{Dir: dir, Backend: store.BackendBbolt})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m := New(st, c.now)

	week, _ := ParseDuration("7d")
	a, err := m.Create(CreateRequest{Channel: "photos", Label: "Summer", Note: "hi", ExpiresIn: week})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Token) != 24 {
		t.Errorf("len(token) = %d, want 24", len(a.Token))
	}
	b, err := m.Create(CreateRequest{TorrentID: 3, Files: []string{"x/a.jpg"}, MaxDownloads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := m.Lookup(a.Token); err != nil || got.ID != a.ID {
		t.Fatalf("Lookup(a) = %v, %v", got.ID, err)
	}
	// A guessed token, and one off by a character.
	for _, tok := range []string{"nope", a.Token[:23] + "A", "", b.Token + "x"} {
		if _, err := m.Lookup(tok); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%q) = %v, want ErrNotFound", tok, err)
		}
	}
	// Download cap.
	for i := range 2 {
		if err := m.CountDownload(b.ID); err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
	}
	if err := m.CountDownload(b.ID); !errors.Is(err, ErrGone) {
		t.Errorf("third download = %v, want ErrGone", err)
	}
	if _, err := m.Lookup(b.Token); !errors.Is(err, ErrGone) {
		t.Errorf("Lookup(used up) = %v, want ErrGone", err)
	}
	// Expiry.
	c.t = c.t.Add(7*24*time.Hour - time.Second)
	if _, err := m.Lookup(a.Token); err != nil {
		t.Errorf("Lookup before expiry = %v", err)
	}
	c.t = c.t.Add(time.Second)
	if s, err := m.Lookup(a.Token); !errors.Is(err, ErrGone) || s.Status(c.t) != "expired" {
		t.Errorf("Lookup at expiry = %v %v, want ErrGone expired", s.Status(c.t), err)
	}

	// Revoke, then reopen the store: everything persists.
	d, err := m.Create(CreateRequest{Channel: "photos"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke(d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Revoke("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Revoke(nosuch) = %v, want ErrNotFound", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, dir)
	t.Cleanup(func() { st.Close() })
	m = New(st, c.now)
	list, err := m.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("List = %d shares, %v; want 3", len(list), err)
	}
	if s, err := m.Lookup(d.Token); !errors.Is(err, ErrGone) || s.Status(c.t) != "revoked" {
		t.Errorf("Lookup(revoked) = %q %v, want revoked ErrGone", s.Status(c.t), err)
	}
	if s, _ := m.Get(b.ID); s.Downloads != 2 || len(s.Files) != 1 {
		t.Errorf("reopened b = %+v, want 2 downloads and 1 file", s)
	}
}

func TestCreateRefuses(t *testing.T) {
	st := openStore(t, t.TempDir())
	t.Cleanup(func() { st.Close() })
	m := New(st, nil)
	for _, req := range []CreateRequest{
		{},
		{Channel: "a", TorrentID: 1},
		{Channel: "a", Files: []string{"x"}},
		{TorrentID: 1, Files: []string{""}},
		{Channel: "a", MaxDownloads: -1},
		{Channel: "a", ExpiresIn: -1},
	} {
		if _, err := m.Create(req); !errors.Is(err, ErrInput) {
			t.Errorf("Create(%+v) = %v, want ErrInput", req, err)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true}, {"12h", 12 * time.Hour, true}, {"0d", 0, true},
		{"-1d", 0, false}, {"d", 0, false}, {"1.5d", 0, false}, {"x", 0, false},
	} {
		got, err := ParseDuration(tc.in)
		if (err == nil) != tc.ok || time.Duration(got) != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
