package main

import (
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web/sharepage"
)

// startShares makes the share manager and the share pages (/s/…), with
// thumbnails cached in DATA_DIR/cache/thumbs. The router profile makes
// one thumbnail at a time of at most 16 MP (a decoded 16 MP JPEG is
// about 24 MB) and takes the camera's own EXIF thumbnail when a photo
// has one (no full decode: a full one takes seconds on a router CPU);
// other profiles two at a time, up to 40 MP.
func startShares(cfg *config.Config, st store.Store, eng *engine.Engine, chm *channel.Manager, log *slog.Logger) (*share.Manager, http.Handler, error) {
	to := thumb.Options{Dir: filepath.Join(cfg.DataDir, "cache", "thumbs"), Logger: log, Concurrency: 2}
	if cfg.Profile == "router" {
		to.Concurrency, to.MaxPixels, to.MaxBytes, to.Embedded = 1, 16_000_000, 16<<20, true
	}
	th, err := thumb.New(to)
	if err != nil {
		return nil, nil, err
	}
	sm := share.New(st, nil)
	o := sharepage.Options{Shares: sm, Torrents: eng, Thumbs: th, Logger: log}
	if chm != nil {
		o.Channels = chm
	}
	return sm, sharepage.NewHandler(o), nil
}
