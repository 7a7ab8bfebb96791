package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestFetchInfo: metadata comes from a peer, checked, with no torrent
// added and no file written; a torrent the engine has answers from its
// saved metadata.
func TestFetchInfo(t *testing.T) {
	seeder := enginetest.StartNode(t, enginetest.NodeOptions{})
	tt := enginetest.MakeTorrent(t, seeder.Engine.Settings().DownloadDir, "album", 0, []enginetest.File{{Path: "a.jpg", Size: 200_000}})
	if _, _, err := seeder.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo}); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, seeder.Engine, tt.InfoHash, 20*time.Second, "seeding", enginetest.Complete)
	ih := metainfo.NewHashFromHex(tt.InfoHash)

	leech := enginetest.StartNode(t, enginetest.NodeOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := leech.Engine.FetchInfo(ctx, ih, []string{seeder.PeerAddr()})
	if err != nil {
		t.Fatalf("FetchInfo = %v", err)
	}
	if got := metainfo.HashBytes(b); got != ih {
		t.Errorf("FetchInfo returned info hashing to %s, want %s", got.HexString(), tt.InfoHash)
	}
	if l := leech.Engine.List(); len(l) != 0 {
		t.Errorf("after FetchInfo the engine has %d torrents, want none", len(l))
	}
	if entries, _ := os.ReadDir(leech.Engine.Settings().DownloadDir); len(entries) != 0 {
		t.Errorf("FetchInfo wrote %d entries in the download folder", len(entries))
	}
	if b2, err := seeder.Engine.FetchInfo(ctx, ih, nil); err != nil || string(b2) != string(b) {
		t.Errorf("FetchInfo of a torrent the engine has = %d bytes, %v; want its metadata", len(b2), err)
	}

	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if _, err := leech.Engine.FetchInfo(short, [20]byte{1}, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FetchInfo with nobody to ask = %v, want the context's deadline", err)
	}
	var ie *engine.InputError
	if _, err := leech.Engine.FetchInfo(ctx, ih, []string{"nonsense"}); !errors.As(err, &ie) {
		t.Errorf("FetchInfo with a bad peer address = %v, want an input error", err)
	}
}

// TestAddVerifiedPieces: pieces the caller vouches for are complete at
// once, without hashing; the others are hashed as usual.
func TestAddVerifiedPieces(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	dir := n.Engine.Settings().DownloadDir
	tt := enginetest.MakeTorrent(t, dir, "album", 32<<10, []enginetest.File{{Path: "a.jpg", Size: 64 << 10}, {Path: "b.jpg", Size: 64 << 10}})
	// b.jpg is damaged on disk: vouching only for a.jpg's pieces (0, 1)
	// must leave b.jpg's to the hasher, which finds them bad.
	if err := os.WriteFile(filepath.Join(dir, "album", "b.jpg"), make([]byte, 64<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	hashed := n.Engine.Stats().BytesHashed
	added, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Name: "Family\x00 photos", VerifiedPieces: []int{0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if added.Name != "Family photos" {
		t.Errorf("name = %q, want the request's, cleaned", added.Name)
	}
	got := enginetest.WaitFor(t, n.Engine, tt.InfoHash, 20*time.Second, "a.jpg verified and b.jpg checked", func(tr engine.Torrent) bool {
		return len(tr.Files) == 2 && tr.Files[0].Done == 64<<10 && tr.State != engine.StateChecking
	})
	if got.Files[1].Done != 0 {
		t.Errorf("b.jpg (damaged) verified %d bytes, want 0", got.Files[1].Done)
	}
	if h := n.Engine.Stats().BytesHashed - hashed; h > 64<<10 {
		t.Errorf("hashed %d bytes, want at most b.jpg's %d (a.jpg's pieces were vouched for)", h, 64<<10)
	}
	for _, bad := range [][]int{{-1}, {4}} {
		_, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, VerifiedPieces: bad})
		var ie *engine.InputError
		if !errors.As(err, &ie) {
			t.Errorf("Add(VerifiedPieces %v) = %v, want an input error", bad, err)
		}
	}
	var ie *engine.InputError
	if _, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Magnet: "magnet:?xt=urn:btih:" + tt.InfoHash, VerifiedPieces: []int{0}}); !errors.As(err, &ie) {
		t.Errorf("Add(magnet with VerifiedPieces) = %v, want an input error", err)
	}
}
