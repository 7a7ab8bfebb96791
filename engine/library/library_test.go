package library

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

func TestMain(m *testing.M) {
	enginetest.ClassicFileIO()
	os.Exit(m.Run())
}

// addFiles writes files under dir/name, makes a torrent of them and adds
// it to the engine with its data in place (complete after the check).
func addFiles(t *testing.T, e *engine.Engine, name string, files map[string][]byte) engine.Torrent {
	t.Helper()
	dir := t.TempDir()
	for p, b := range files {
		full := filepath.Join(dir, name, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	info := metainfo.Info{PieceLength: 16 << 10}
	if err := info.BuildFromFilePath(filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	ib, err := bencode.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (&metainfo.MetaInfo{InfoBytes: ib}).Write(&buf); err != nil {
		t.Fatal(err)
	}
	tt, _, err := e.Add(context.Background(), engine.AddRequest{Metainfo: buf.Bytes(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return enginetest.WaitFor(t, e, strconv.FormatInt(tt.ID, 10), 30*time.Second, "verified", enginetest.Complete)
}

func names(p Page) []string {
	var s []string
	for _, it := range p.Items {
		s = append(s, it.Name)
	}
	return s
}

func TestLibrary(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	e := n.Engine
	lib, err := New(Options{Store: n.Store, Source: e, Logger: enginetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	holiday := addFiles(t, e, "Holiday", map[string][]byte{
		"DCIM/IMG_0001.JPG": makeJPEG(t, 40, 30, exifBlock(binary.BigEndian, 6, "2023:08:01 10:00:00", "")),
		"DCIM/IMG_0002.JPG": makeJPEG(t, 30, 40, exifBlock(binary.LittleEndian, 1, "2023:08:02 11:00:00", "")),
		"screen.png":        makePNG(t, 120, 80),
		"clip.mp4":          makeMP4("isom", 0, 600, 600*42),
		"readme.txt":        []byte("hello"),
	})
	st, err := lib.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Torrents != 1 || st.Files != 5 || st.Probed != 5 {
		t.Errorf("first Sync = %+v, want 1 torrent, 5 files, 5 probed", st)
	}

	p, err := lib.Find(Query{Kind: KindPhoto, Sort: "taken"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p); len(got) != 3 || got[0] != "screen.png" || got[1] != "IMG_0002.JPG" || got[2] != "IMG_0001.JPG" {
		// The PNG has no date taken: it sorts by its added date, today,
		// before photos taken in 2023.
		t.Errorf("photos by taken = %v, want [screen.png IMG_0002.JPG IMG_0001.JPG]", got)
	}
	img := p.Items[2]
	wantTaken := time.Date(2023, 8, 1, 10, 0, 0, 0, time.UTC)
	if img.Width != 40 || img.Height != 30 || img.Orientation != 6 || !img.Taken.Equal(wantTaken) || img.Path != "DCIM/IMG_0001.JPG" || img.Torrent != holiday.ID || !img.Complete || !img.Probed {
		t.Errorf("IMG_0001 = %+v", img)
	}
	p, _ = lib.Find(Query{Kind: KindVideo})
	if len(p.Items) != 1 || p.Items[0].Duration != 42*time.Second || p.Items[0].Container != "mp4" {
		t.Errorf("videos = %+v, want clip.mp4 of 42s", p.Items)
	}
	p, _ = lib.Find(Query{Text: "img_"})
	if len(p.Items) != 2 {
		t.Errorf("Find(text img_) = %v, want the two JPEGs", names(p))
	}

	// A rename is seen: the item takes the new name (and keeps its kind
	// from the data, here the extension of a text file).
	time.Sleep(2 * time.Millisecond) // EditedAt must move
	if err := e.RenamePath(holiday.ID, "Holiday/readme.txt", "README.md"); err != nil {
		t.Fatal(err)
	}
	if st, err := lib.Sync(ctx); err != nil || st.Torrents != 1 {
		t.Errorf("Sync after a rename = %+v, %v; want the torrent looked at again", st, err)
	}
	if p, _ := lib.Find(Query{Text: "readme"}); len(p.Items) != 1 || p.Items[0].Path != "README.md" || p.Items[0].Kind != KindDocument {
		t.Errorf("after rename: %+v, want README.md, a document", p.Items)
	}

	// Nothing changed: nothing is looked at again.
	if st, err := lib.Sync(ctx); err != nil || st != (Stats{}) {
		t.Errorf("idle Sync = %+v, %v; want nothing done", st, err)
	}

	// A second torrent: only it is indexed; newest added comes first.
	time.Sleep(10 * time.Millisecond) // AddedAt resolution
	music := addFiles(t, e, "Album", map[string][]byte{
		"01.flac":  makeFLAC(48000, 48000*61),
		"02.mp3":   makeMP3(50, 0),
		"film.mkv": makeMKV("matroska", 1000000, 5000),
	})
	st, err = lib.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Torrents != 1 || st.Files != 3 {
		t.Errorf("Sync after a second torrent = %+v, want 1 torrent, 3 files", st)
	}
	p, _ = lib.Find(Query{Limit: 3})
	for _, it := range p.Items {
		if it.Torrent != music.ID {
			t.Errorf("first page by added has %s of torrent %d, want only torrent %d (newest)", it.Name, it.Torrent, music.ID)
		}
	}
	// Paging walks everything exactly once.
	seen := map[string]bool{}
	q := Query{Limit: 3}
	for pages := 0; ; pages++ {
		p, err := lib.Find(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range p.Items {
			if seen[it.Path] {
				t.Errorf("%s on two pages", it.Path)
			}
			seen[it.Path] = true
		}
		if p.Next == "" || pages > 5 {
			break
		}
		q.Cursor = p.Next
	}
	if len(seen) != 8 {
		t.Errorf("paging saw %d files, want 8", len(seen))
	}
	p, _ = lib.Find(Query{Kind: KindAudio, Torrent: music.ID})
	if len(p.Items) != 2 {
		t.Errorf("audio of the album = %v, want 2", names(p))
	}
	p, _ = lib.Find(Query{Kind: KindVideo, Torrent: music.ID})
	if len(p.Items) != 1 || p.Items[0].Container != "matroska" || p.Items[0].Duration != 5*time.Second {
		t.Errorf("video of the album = %+v, want film.mkv 5s", p.Items)
	}

	// Removing a torrent drops its files.
	if err := e.Remove(holiday.ID, false); err != nil {
		t.Fatal(err)
	}
	st, err = lib.Sync(ctx)
	if err != nil || st.Removed != 1 {
		t.Errorf("Sync after remove = %+v, %v; want 1 removed", st, err)
	}
	p, _ = lib.Find(Query{})
	if len(p.Items) != 3 {
		t.Errorf("after remove: %v, want the album's 3 files", names(p))
	}
	n.Store.Scan([]byte("lib/"), func(k, _ []byte) error {
		if bytes.Contains(k, []byte(strconv.FormatInt(holiday.ID, 16)+"/")) && bytes.HasPrefix(k, []byte(prefixFile)) {
			t.Errorf("key %s of a removed torrent left", k)
		}
		return nil
	})

	for _, bad := range []Query{{Sort: "size"}, {Kind: "movie"}, {Cursor: "zz"}} {
		if _, err := lib.Find(bad); err == nil {
			t.Errorf("Find(%+v) = nil error, want ErrBadQuery", bad)
		}
	}
}
