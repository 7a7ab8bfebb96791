package engine_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// withURLList returns tt's .torrent with url-list set (the info
// dictionary unchanged).
func withURLList(t *testing.T, tt *enginetest.Torrent, urls ...string) []byte {
	t.Helper()
	mi, err := metainfo.Load(bytes.NewReader(tt.Metainfo))
	if err != nil {
		t.Fatal(err)
	}
	mi.UrlList = urls
	b, err := bencode.Marshal(mi)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadMetaInfo(t *testing.T, b []byte) *metainfo.MetaInfo {
	t.Helper()
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("MetaInfo output does not parse: %v", err)
	}
	return mi
}

// TestWebSeedsKept: the url-list of a .torrent is cleaned, kept with the
// torrent (merged when the same torrent is added again, saved across a
// restart) and written back by MetaInfo, with the info dictionary byte
// for byte. The torrent stays paused: nothing is fetched.
func TestWebSeedsKept(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "x", 16<<10, []enginetest.File{{Path: "a", Size: 40_000}, {Path: "b/c", Size: 5}})
	orig := loadMetaInfo(t, tt.Metainfo)
	dir := t.TempDir()
	n := enginetest.StartNode(t, enginetest.NodeOptions{Dir: dir})
	ctx := context.Background()
	first := withURLList(t, tt, "http://127.0.0.1:9/ws/", "ftp://127.0.0.1/x/", "http://user:pw@127.0.0.1:9/", "http://127.0.0.1:9/ws/", "/relative/", "https://[::1]:9/s/")
	got, _, err := n.Engine.Add(ctx, engine.AddRequest{Metainfo: first, Dir: t.TempDir(), Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	check := func(e *engine.Engine, extra []string, want []string) {
		t.Helper()
		b, err := e.MetaInfo(got.ID, extra)
		if err != nil {
			t.Fatalf("MetaInfo: %v", err)
		}
		mi := loadMetaInfo(t, b)
		if !slices.Equal(mi.UrlList, want) {
			t.Errorf("url-list = %q, want %q", mi.UrlList, want)
		}
		if !bytes.Equal(mi.InfoBytes, orig.InfoBytes) || mi.HashInfoBytes().HexString() != tt.InfoHash {
			t.Errorf("info dictionary changed: infohash %s, want %s", mi.HashInfoBytes().HexString(), tt.InfoHash)
		}
	}
	check(n.Engine, nil, []string{"http://127.0.0.1:9/ws/", "https://[::1]:9/s/"})
	check(n.Engine, []string{"http://127.0.0.1:9/extra/", "javascript:alert(1)"}, []string{"http://127.0.0.1:9/ws/", "https://[::1]:9/s/", "http://127.0.0.1:9/extra/"})
	// The same torrent again with another web seed: merged.
	if _, existed, err := n.Engine.Add(ctx, engine.AddRequest{Metainfo: withURLList(t, tt, "http://127.0.0.1:9/more/")}); err != nil || !existed {
		t.Fatalf("add again = existed %v, %v", existed, err)
	}
	want := []string{"http://127.0.0.1:9/ws/", "https://[::1]:9/s/", "http://127.0.0.1:9/more/"}
	check(n.Engine, nil, want)
	n.Close()
	n = enginetest.StartNode(t, enginetest.NodeOptions{Dir: dir})
	check(n.Engine, nil, want)
	if _, err := n.Engine.MetaInfo(999, nil); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("MetaInfo(999) = %v, want ErrNotFound", err)
	}
}

// TestSeedFile reads a partly present torrent the way a web seed does:
// only verified pieces, never a fetch, within the upload limit.
func TestSeedFile(t *testing.T) {
	const pl = 16 << 10
	dir := t.TempDir()
	// Files in torrent order (sorted): a = 64 pieces exactly, b ends inside
	// the piece where c starts, c is missing on this device.
	tt := enginetest.MakeTorrent(t, dir, "x", pl, []enginetest.File{{Path: "a", Size: 64 * pl}, {Path: "b", Size: 20_000}, {Path: "c", Size: 10_000}})
	a, _ := os.ReadFile(filepath.Join(dir, "x", "a"))
	b, _ := os.ReadFile(filepath.Join(dir, "x", "b"))
	os.Remove(filepath.Join(dir, "x", "c"))
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	e := n.Engine
	got, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	got = enginetest.WaitFor(t, e, ref(got.ID), timeout, "the check", func(x engine.Torrent) bool {
		return x.HasMetadata && x.State != engine.StateChecking && x.PiecesDone == 65
	})

	l, err := e.Layout(got.ID)
	if err != nil || l.Name != "x" || l.SingleFile || len(l.Files) != 3 || !slices.Equal(l.Files[1].Path, []string{"b"}) || l.PieceLength != pl {
		t.Fatalf("Layout = %+v, %v", l, err)
	}
	ctx := context.Background()
	fa, err := e.OpenSeedFile(ctx, got.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	buf := make([]byte, len(a))
	if n, err := fa.ReadAt(buf, 0); n != len(a) || err != nil || !bytes.Equal(buf, a) || !fa.Verified(0, fa.Size()) {
		t.Errorf("a: ReadAt = %d, %v; want all %d bytes", n, err, len(a))
	}
	if n, err := fa.ReadAt(buf[:10], fa.Size()-4); n != 4 || err != io.EOF {
		t.Errorf("a: ReadAt across the end = %d, %v; want 4, EOF", n, err)
	}
	if _, err := e.OpenSeedFile(ctx, got.ID, 2); !errors.Is(err, engine.ErrNotVerified) {
		t.Errorf("c (missing): OpenSeedFile = %v, want ErrNotVerified", err)
	}
	if _, err := e.OpenSeedFile(ctx, got.ID, 3); !errors.Is(err, engine.ErrNoFile) {
		t.Errorf("file 3: OpenSeedFile = %v, want ErrNoFile", err)
	}
	fb, err := e.OpenSeedFile(ctx, got.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	// b: its first piece is verified, its last (shared with c) is not.
	if !fb.Verified(0, pl) || fb.Verified(0, fb.Size()) || fb.Verified(pl, 1) {
		t.Errorf("b: Verified wrong: [0,%d) %v, all %v, [%d,+1) %v", pl, fb.Verified(0, pl), fb.Verified(0, fb.Size()), pl, fb.Verified(pl, 1))
	}
	if n, err := fb.ReadAt(buf[:pl], 0); n != pl || err != nil || !bytes.Equal(buf[:pl], b[:pl]) {
		t.Errorf("b: verified part = %d, %v", n, err)
	}
	if _, err := fb.ReadAt(buf[:100], pl); !errors.Is(err, engine.ErrNotVerified) {
		t.Errorf("b: unverified part = %v, want ErrNotVerified", err)
	}

	// The torrent's upload limit holds web seed reads too: 1 KB/s cannot
	// give 1 MiB (beyond the limiter's 256 KiB burst) in 300 ms.
	one := 1
	if err := e.SetOptions(got.ID, engine.OptionsPatch{UploadKBps: &one}); err != nil {
		t.Fatal(err)
	}
	lctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	fl, err := e.OpenSeedFile(lctx, got.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Close()
	if _, err := fl.ReadAt(buf, 0); err == nil {
		t.Errorf("1 MiB read at 1 KB/s upload limit succeeded within 300 ms")
	}
}
