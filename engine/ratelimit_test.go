package engine_test

import (
	"context"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestRateLimitedDownloadCompletes: a leecher with a per-torrent download
// limit, fed by a seeder with default settings, must finish. (anacrolix's
// seeder stalled such peers once its per-connection request-data budget
// was used up.)
func TestRateLimitedDownloadCompletes(t *testing.T) {
	files := []enginetest.File{{Path: "a", Size: 5 << 20}, {Path: "b", Size: 3<<20 + 777}, {Path: "c", Size: 4 << 20}}
	tt := enginetest.MakeTorrent(t, t.TempDir(), "limited", 64<<10, files)
	seeder, _ := seed(t, tt)
	leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
	got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	lim := 4000 // KB/s: about 3 s for the whole torrent
	if err := leecher.Engine.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: &lim}); err != nil {
		t.Fatal(err)
	}
	if err := leecher.Engine.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	if err := leecher.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "rate-limited download", enginetest.Complete)
	enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)
}
