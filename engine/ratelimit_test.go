package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestRateLimitedDownloadCompletes: a transfer between two engines with a
// download limit on the leecher or an upload limit on the seeder, per
// torrent or global, must finish with the right bytes, and no sooner than
// the limit allows. (anacrolix v1.59.1's seeder stalled slow peers for good
// once the requests it had queued outgrew its per-connection request-data
// budget.)
func TestRateLimitedDownloadCompletes(t *testing.T) {
	const lim = 4000 // KB/s: about 3 s for the whole torrent
	tests := []struct {
		name string
		// limit sets the limit on the seeder's or the leecher's engine;
		// id is that engine's id for the torrent.
		limit func(seeder, leecher *engine.Engine, seederID, leecherID int64) error
	}{
		{"per-torrent download", func(_, l *engine.Engine, _, id int64) error {
			return l.SetOptions(id, engine.OptionsPatch{DownloadKBps: ptr(lim)})
		}},
		{"global download", func(_, l *engine.Engine, _, _ int64) error {
			_, err := l.SetSettings(engine.SettingsPatch{DownloadKBps: ptr(lim)})
			return err
		}},
		{"per-torrent upload", func(s, _ *engine.Engine, id, _ int64) error {
			return s.SetOptions(id, engine.OptionsPatch{UploadKBps: ptr(lim)})
		}},
		{"global upload", func(s, _ *engine.Engine, _, _ int64) error {
			_, err := s.SetSettings(engine.SettingsPatch{UploadKBps: ptr(lim)})
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files := []enginetest.File{{Path: "a", Size: 5 << 20}, {Path: "b", Size: 3<<20 + 777}, {Path: "c", Size: 4 << 20}}
			tt := enginetest.MakeTorrent(t, t.TempDir(), "limited", 64<<10, files)
			seeder, seeded := seed(t, tt)
			leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
			got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.limit(seeder.Engine, leecher.Engine, seeded.ID, got.ID); err != nil {
				t.Fatalf("set limit: %v", err)
			}
			start := time.Now()
			if err := leecher.Engine.Resume(got.ID); err != nil {
				t.Fatal(err)
			}
			if err := leecher.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
				t.Fatal(err)
			}
			enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "rate-limited transfer", enginetest.Complete)
			enginetest.SameFiles(t, tt, leecher.Engine.Settings().DownloadDir)
			// A lower bound only, far below size/limit (3.1 s), so it cannot
			// flake: it catches a limit that is not applied at all.
			if d := time.Since(start); d < 1500*time.Millisecond {
				t.Errorf("transfer took %v, want at least 1.5s at %d KB/s", d, lim)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
