package engine_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
)

// infoRefusingStore is a real store whose writes of torrent metadata
// fail while refuse is set (a store that filled its disk, say).
type infoRefusingStore struct {
	store.Store
	refuse atomic.Bool
}

var errRefused = errors.New("test store: metadata writes refused")

type infoRefusingTxn struct {
	store.Txn
	s *infoRefusingStore
}

func (t infoRefusingTxn) Set(k, v []byte) error {
	if t.s.refuse.Load() && bytes.HasPrefix(k, []byte(engine.KeyInfoPrefix)) {
		return errRefused
	}
	return t.Txn.Set(k, v)
}

func (s *infoRefusingStore) Update(fn func(store.Txn) error) error {
	return s.Store.Update(func(tx store.Txn) error { return fn(infoRefusingTxn{tx, s}) })
}

func (s *infoRefusingStore) Set(k, v []byte) error {
	return s.Update(func(tx store.Txn) error { return tx.Set(k, v) })
}

// The engine keeps no copy of a torrent's metadata once the store has it
// (TestWaitingTorrentMemory). When the store cannot take the metadata a
// magnet got from peers, nothing is lost: the torrent completes, a pause
// and a resume start it again from the copy kept meanwhile, its .torrent
// can be exported, and the metadata reaches the store once it takes writes
// again, so a restart needs no peer.
func TestMagnetMetadataKeptWhileStoreRefuses(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "refused", 32<<10, multiFile[:2])
	seeder, _ := seed(t, tt)
	dir := t.TempDir()
	open := func() (*engine.Engine, *infoRefusingStore, func()) {
		st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Logger: enginetest.Logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		rs := &infoRefusingStore{Store: st}
		e, err := engine.New(engine.Options{Config: enginetest.Config(t, dir), Store: rs, Logger: enginetest.Logger(t), ListenHost: "127.0.0.1"})
		if err != nil {
			st.Close()
			t.Fatal(err)
		}
		var once sync.Once
		stop := func() { once.Do(func() { e.Close(); st.Close() }) }
		t.Cleanup(stop)
		return e, rs, stop
	}
	e, rs, stop := open()
	rs.refuse.Store(true)
	got, _, err := e.Add(context.Background(), engine.AddRequest{Magnet: "magnet:?xt=urn:btih:" + tt.InfoHash + "&x.pe=" + seeder.PeerAddr()})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, e, ref(got.ID), timeout, "magnet download with metadata writes refused", enginetest.Complete)
	if err := e.Pause(got.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	x := enginetest.WaitFor(t, e, ref(got.ID), timeout, "seeding again after pause and resume", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding || x.Error != ""
	})
	if x.Error != "" {
		t.Fatalf("after pause and resume: error %q, want seeding", x.Error)
	}
	b, err := e.MetaInfo(got.ID, nil)
	if err != nil {
		t.Fatalf("MetaInfo with metadata writes refused: %v", err)
	}
	if mi, err := metainfo.Load(bytes.NewReader(b)); err != nil || mi.HashInfoBytes().HexString() != tt.InfoHash {
		t.Fatalf("MetaInfo = %v, infohash wrong; want the torrent's", err)
	}
	// The store takes writes again: the next start saves the metadata.
	rs.refuse.Store(false)
	if err := e.Pause(got.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, e, ref(got.ID), timeout, "seeding after the store recovered", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	seeder.Close()
	stop()
	e, _, _ = open()
	x, err = e.Get(tt.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if !x.HasMetadata || len(x.Files) != 2 {
		t.Fatalf("after a restart with no peer: metadata %v, %d files; want the metadata saved", x.HasMetadata, len(x.Files))
	}
	if _, err := e.MetaInfo(got.ID, nil); err != nil {
		t.Fatalf("MetaInfo after the restart: %v", err)
	}
}
