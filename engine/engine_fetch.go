package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// ErrFetching is returned by Add for a torrent whose metadata FetchInfo
// is fetching at that moment: adding it then would share the fetch's
// data-less storage.
var ErrFetching = errors.New("engine: torrent metadata is being fetched; try again shortly")

// fetching holds the engines' infohashes under FetchInfo. Add checks it
// under Engine.mu, FetchInfo registers under Engine.mu, so the two never
// add the same torrent to the library at once.
var fetching sync.Map // fetchKey → struct{}

type fetchKey struct {
	e  *Engine
	ih string
}

// FetchInfo gets the info dictionary of torrent ih from peers (the DHT's
// and the given host:port addresses) without adding the torrent or
// storing any of its data: channels check a new version's metadata
// before they touch a file. The bytes returned hash to ih and passed the
// same checks as every torrent the engine adds (link.ValidateInfo). If
// the engine already has the torrent's metadata it returns that. It
// returns when ctx ends at the latest.
func (e *Engine) FetchInfo(ctx context.Context, ih [20]byte, peers []string) ([]byte, error) {
	for _, p := range peers {
		if _, _, err := net.SplitHostPort(p); err != nil {
			return nil, inputErrorf("bad peer address %q: want host:port", p)
		}
	}
	hex := metainfo.Hash(ih).HexString()
	key := fetchKey{e, hex}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if tr := e.byHash[hex]; tr != nil {
		if tr.info == nil {
			e.mu.Unlock()
			return nil, fmt.Errorf("fetch metadata of %s: the torrent is added and still waiting for it", hex)
		}
		b := tr.unsaved
		e.mu.Unlock()
		if b != nil {
			return b, nil
		}
		return e.savedInfo(hex)
	}
	if _, busy := fetching.LoadOrStore(key, struct{}{}); busy {
		e.mu.Unlock()
		return nil, fmt.Errorf("fetch metadata of %s: %w", hex, ErrFetching)
	}
	t, _ := e.cl.AddTorrentOpt(torrent.AddTorrentOpts{
		InfoHash: ih,
		Storage:  noData{},
	})
	e.mu.Unlock()
	defer func() {
		t.Drop()
		fetching.Delete(key)
	}()
	if len(peers) > 0 {
		t.AddPeers(peerInfos(peers))
	}
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("fetch metadata of %s: %w", hex, ctx.Err())
	case <-e.ctx.Done():
		return nil, ErrClosed
	case <-t.GotInfo():
	}
	b := []byte(t.Metainfo().InfoBytes)
	if _, err := validateInfoBytes(b); err != nil {
		return nil, &InputError{Msg: "metadata from peers rejected", Err: err}
	}
	return b, nil
}

// fetchBusy reports whether FetchInfo is fetching ih. Called with e.mu held.
func (e *Engine) fetchBusy(ih string) bool {
	_, ok := fetching.Load(fetchKey{e, ih})
	return ok
}

// noData is the storage of a torrent added only for its metadata: it
// checks the info like every storage of the engine, creates nothing and
// has no piece.
type noData struct{}

func (noData) OpenTorrent(_ context.Context, info *metainfo.Info, _ metainfo.Hash) (storage.TorrentImpl, error) {
	if err := validateInfo(info); err != nil {
		return storage.TorrentImpl{}, err
	}
	return storage.TorrentImpl{
		Piece: func(metainfo.Piece) storage.PieceImpl { return noPiece{} },
		Close: func() error { return nil },
	}, nil
}

var errNoData = errors.New("engine: metadata-only torrent has no data")

type noPiece struct{}

func (noPiece) ReadAt([]byte, int64) (int, error)  { return 0, errNoData }
func (noPiece) WriteAt([]byte, int64) (int, error) { return 0, errNoData }
func (noPiece) MarkComplete() error                { return errNoData }
func (noPiece) MarkNotComplete() error             { return nil }
func (noPiece) Completion() storage.Completion {
	return storage.Completion{Ok: true, Complete: false}
}
