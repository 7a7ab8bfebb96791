package engine

import (
	"sort"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
)

// peerMeters holds a rate meter per connection of an active torrent. The
// library keeps byte counters per connection but no rates; the engine's
// loop samples them once a second, like the torrent's own rates.
type peerMeters struct {
	m         map[*torrent.PeerConn]*peerMeter
	sending   int // peers that sent us data in the last sample
	receiving int // peers we sent data to
}

type peerMeter struct {
	down, up rateMeter
}

// samplePeers updates the per-connection rates. Called with e.mu held.
func (tr *tor) samplePeers(dt float64) {
	if tr.t == nil {
		return
	}
	conns := tr.t.PeerConns()
	old := tr.peers.m
	next := make(map[*torrent.PeerConn]*peerMeter, len(conns))
	sending, receiving := 0, 0
	for _, pc := range conns {
		m := old[pc]
		if m == nil {
			m = &peerMeter{}
		}
		st := pc.Stats()
		if m.down.sample(st.BytesReadData.Int64(), dt) > 0 {
			sending++
		}
		if m.up.sample(st.BytesWrittenData.Int64(), dt) > 0 {
			receiving++
		}
		next[pc] = m
	}
	tr.peers = peerMeters{m: next, sending: sending, receiving: receiving}
}

// Peers lists the connected peers of a running torrent (none when it is
// not running), fastest first.
func (e *Engine) Peers(id int64) ([]Peer, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return nil, err
	}
	if tr.t == nil {
		return []Peer{}, nil
	}
	pieces := 0
	if tr.info != nil {
		pieces = tr.numPieces
	}
	conns := tr.t.PeerConns()
	out := make([]Peer, 0, len(conns))
	for _, pc := range conns {
		st := pc.Stats()
		p := Peer{
			Addr:   pc.RemoteAddr.String(),
			Source: peerSource(pc.Discovery),
			UTP:    pc.Network == "udp" || pc.Network == "udp4" || pc.Network == "udp6",
		}
		if name, ok := pc.PeerClientName.Load().(string); ok {
			p.Client = name
		}
		if pieces > 0 {
			p.Progress = min(1, float64(st.RemotePieceCount)/float64(pieces))
		}
		if m := tr.peers.m[pc]; m != nil {
			p.DownRate, p.UpRate = m.down.get(), m.up.get()
		}
		out = append(out, p)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].DownRate+out[i].UpRate, out[j].DownRate+out[j].UpRate; a != b {
			return a > b
		}
		return out[i].Addr < out[j].Addr
	})
	return out, nil
}

func peerSource(s torrent.PeerSource) string {
	switch s {
	case torrent.PeerSourceTracker:
		return "tracker"
	case torrent.PeerSourceDhtGetPeers, torrent.PeerSourceDhtAnnouncePeer:
		return "dht"
	case torrent.PeerSourcePex:
		return "pex"
	case torrent.PeerSourceIncoming:
		return "incoming"
	case torrent.PeerSourceDirect:
		return "link"
	case torrent.PeerSourceUtHolepunch:
		return "holepunch"
	}
	return "other"
}

// Pieces returns which pieces of a torrent are verified, or nil when its
// metadata is not known yet.
func (e *Engine) Pieces(id int64) ([]bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return nil, err
	}
	if tr.info == nil {
		return nil, nil
	}
	n := tr.numPieces
	if tr.t != nil && tr.t.Info() != nil {
		bm := make([]bool, n)
		i := 0
		for _, run := range tr.t.PieceStateRuns() {
			if run.Complete {
				for j := i; j < i+run.Length && j < n; j++ {
					bm[j] = true
				}
			}
			i += run.Length
		}
		return bm, nil
	}
	bm, err := e.pc.Bitmap(metainfo.NewHashFromHex(tr.rec.InfoHash), n)
	if err != nil {
		return nil, err
	}
	return bm, nil
}

// Reannounce asks the torrent's trackers and the DHT for peers now. The
// library has no "announce now" for trackers, so a running torrent with
// trackers restarts in the engine (its peers reconnect; nothing is hashed
// again); one without trackers announces to the DHT. A stopped or queued
// torrent announces when it starts, so for it this does nothing.
func (e *Engine) Reannounce(id int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr, err := e.lookup(id)
	if err != nil {
		return err
	}
	if tr.t == nil || tr.checking || tr.moving {
		return nil
	}
	if len(tr.rec.Trackers) > 0 {
		e.deactivate(tr)
		e.activate(tr)
		e.log.Info("reannounce: torrent restarted", "torrent", id)
		return nil
	}
	for _, s := range e.cl.DhtServers() {
		done, stop, err := tr.t.AnnounceToDht(s)
		if err != nil {
			e.log.Debug("reannounce to DHT", "torrent", id, "err", err)
			continue
		}
		ctx := e.ctx
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer stop()
			timer := time.NewTimer(time.Minute)
			defer timer.Stop()
			select {
			case <-done:
			case <-timer.C:
			case <-ctx.Done():
			}
		}()
	}
	return nil
}
