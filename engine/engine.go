// Package engine is Hearth's BitTorrent engine: a facade over
// anacrolix/torrent that adds durable state (torrents, settings and piece
// completion in Hearth's store), a queue, rate and seeding limits, and input
// validation that keeps bad links and torrents away from the library.
// It serves no HTTP and knows nothing of UI or hardware.
package engine

import (
	"context"
	"log/slog"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine/store"
)

// Options configure New.
type Options struct {
	Config *config.Config // required; see config.Default
	Store  store.Store    // required; the engine does not close it
	Logger *slog.Logger
}

// Engine is safe for concurrent use.
type Engine struct {
}

var errTODO = inputErrorf("not implemented yet")

// New starts an engine and brings back every torrent saved in the store.
func New(opts Options) (*Engine, error) { return nil, errTODO }

// Close stops all torrents and the peer listener. State is already durable.
func (e *Engine) Close() error { return nil }

// Add adds a torrent. A duplicate returns the existing torrent and existed=true.
func (e *Engine) Add(ctx context.Context, req AddRequest) (t Torrent, existed bool, err error) {
	return Torrent{}, false, errTODO
}

// List returns every torrent in queue order, without file lists.
func (e *Engine) List() []Torrent { return nil }

// Get returns one torrent with its files. ref is the numeric id or the infohash (hex).
func (e *Engine) Get(ref string) (Torrent, error) { return Torrent{}, errTODO }

// Pause stops a torrent until Resume.
func (e *Engine) Pause(id int64) error { return errTODO }

// Resume puts a stopped torrent back in the queue.
func (e *Engine) Resume(id int64) error { return errTODO }

// StartNow starts a torrent at once, ignoring the queue limits.
func (e *Engine) StartNow(id int64) error { return errTODO }

// Remove removes a torrent, and its downloaded data if deleteData.
func (e *Engine) Remove(id int64, deleteData bool) error { return errTODO }

// Verify re-hashes the torrent's data; missing or damaged pieces are downloaded again.
func (e *Engine) Verify(id int64) error { return errTODO }

// SetFiles changes which files are wanted and their priorities.
func (e *Engine) SetFiles(id int64, patches []FilePatch) error { return errTODO }

// SetOptions changes per-torrent limits.
func (e *Engine) SetOptions(id int64, p OptionsPatch) error { return errTODO }

// MoveQueue moves a torrent to position pos (0 = first) of the queue.
func (e *Engine) MoveQueue(id int64, pos int) error { return errTODO }

// AddPeers makes a running torrent connect to the given host:port peers.
func (e *Engine) AddPeers(id int64, addrs []string) error { return errTODO }

// Settings returns the runtime settings.
func (e *Engine) Settings() Settings { return Settings{} }

// SetSettings changes and persists runtime settings.
func (e *Engine) SetSettings(p SettingsPatch) (Settings, error) { return Settings{}, errTODO }

// Stats returns engine-wide figures.
func (e *Engine) Stats() Stats { return Stats{} }
