package channel

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/mutable"
)

// Offered peers: a LAN neighbour that pushes a version holds its item and,
// usually, its data; its address is the one peer sure to be worth asking,
// and the subscriber's own lookups may not find it (an mDNS view that
// churns, a neighbour that answered the push and then dropped off the
// record). So an offer's peers are kept with the version and handed to its
// install, and to the fetch of its metadata while that runs.
const (
	// maxOfferPeers bounds the peers kept per subscription.
	maxOfferPeers = 16
	// defaultNoPeerWait bounds how long a fetch with no peer at all waits
	// for one to be offered when there is no DHT to find any (FetchTimeout
	// if shorter). Then the check fails and is retried, with a new lookup.
	defaultNoPeerWait = 30 * time.Second
)

var (
	// errSuperseded ends the fetch of a version when a newer one is
	// offered: the check runs again at once for the newer one.
	errSuperseded = errors.New("channel: a newer version was offered")
	errNoPeers    = errors.New("channel: no peer known to have the version")
)

// offer is what Offer learnt of one version of a subscription.
type offer struct {
	seq   int64
	ih    [20]byte
	peers []string // host:port, at most maxOfferPeers
	// fetching: a fetch of this version runs and takes what is added.
	fetching bool
	// changedC is closed (and replaced) when peers are added or a newer
	// version replaces this one: a fetch under way waits on it.
	changedC chan struct{}
}

// Offer hands the manager a signed item from outside its own lookups (a
// LAN neighbour pushing a version) with the BitTorrent addresses of the
// device it came from; invalid addresses are ignored.
//
// A newer item is checked like a looked-up one and installed by a check
// that runs at once; the install asks the offered peers besides the ones
// its lookups find. The item already held brings its peers only: to the
// fetch of that version's metadata under way (which starts again with
// them), to its torrent when it is installed, or to a check run at once
// when its install has not succeeded yet. A refused item returns an
// *engine.InputError and is noted in the subscription's status.
//
// Offer does not wait for a fetch under way to hand it the peers; a newer
// item waits for the subscription's current operation to end (which the
// offer itself may cut short: a fetch of an older version stops).
func (m *Manager) Offer(it mutable.Item, peers ...netip.AddrPort) error {
	id := subID(it.Target())
	r, err := m.subCopy(id)
	if err != nil {
		return err
	}
	addrs := peerAddrs(peers)
	// A first check without the subscription's lock: a poll holds it for
	// as long as its install takes, and the peers must reach that install
	// now, not after it timed out for want of them.
	switch err := checkItem(r, it); {
	case errors.Is(err, errSame):
		m.offerHeld(id, r, it, addrs)
		return nil
	case err == nil:
		m.addOffer(id, it, addrs)
	}
	unlock := m.lock(subKey(id))
	defer unlock()
	if r, err = m.subCopy(id); err != nil {
		return err
	}
	if err := checkItem(r, it); err != nil {
		if errors.Is(err, errSame) { // a check took it meanwhile
			m.offerHeld(id, r, it, addrs)
			return nil
		}
		m.dropOffer(id, it.Seq)
		m.reject(id, r, err)
		r.Error = "rejected: " + err.Error()
		if serr := m.saveSub(id, r); serr != nil {
			return serr
		}
		return &engine.InputError{Msg: err.Error()}
	}
	r.Item = toItemRec(it)
	if err := m.saveSub(id, r); err != nil {
		return err
	}
	m.mu.Lock()
	m.schedule(pollTask(id), time.Now())
	m.mu.Unlock()
	m.kick()
	m.notify()
	return nil
}

// offerHeld takes the peers offered with the item the subscription holds.
func (m *Manager) offerHeld(id string, r *subRec, it mutable.Item, addrs []string) {
	if len(addrs) == 0 {
		return
	}
	ih, _ := mutable.ParseInfohashValue(it.Value) // checkItem parsed it
	if r.TorrentID != 0 && r.Seq == it.Seq && r.InfoHash == metainfo.Hash(ih).HexString() {
		// Installed: the torrent takes them (it may be downloading still).
		if err := m.o.Engine.AddPeers(r.TorrentID, addrs); err != nil {
			m.log.Debug("add offered peers", "subscription", id, "torrent", r.TorrentID, "err", err)
		}
		return
	}
	added, taken := m.addOffer(id, it, addrs)
	if !added || taken {
		return // nothing new, or a fetch under way took them
	}
	// The last install failed, perhaps for want of a peer: again, now.
	m.mu.Lock()
	if m.subs[id] != nil {
		m.schedule(pollTask(id), time.Now())
	}
	m.mu.Unlock()
	m.kick()
}

// addOffer keeps the peers offered with it, a valid item of subscription
// id. added: some were new; taken: a fetch of that version runs and takes
// them. A newer version replaces the one kept (and stops its fetch); an
// older one is ignored.
func (m *Manager) addOffer(id string, it mutable.Item, addrs []string) (added, taken bool) {
	ih, err := mutable.ParseInfohashValue(it.Value)
	if err != nil {
		return false, false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.offers[id]
	switch {
	case o == nil:
		o = &offer{seq: it.Seq, ih: ih, changedC: make(chan struct{})}
		m.offers[id] = o
	case it.Seq > o.seq || it.Seq == o.seq && ih != o.ih:
		close(o.changedC)
		o = &offer{seq: it.Seq, ih: ih, changedC: make(chan struct{})}
		m.offers[id] = o
	case it.Seq < o.seq:
		return false, false
	}
	for _, a := range addrs {
		if len(o.peers) >= maxOfferPeers {
			break
		}
		if !slices.Contains(o.peers, a) {
			o.peers = append(o.peers, a)
			added = true
		}
	}
	if added {
		close(o.changedC)
		o.changedC = make(chan struct{})
	}
	return added, added && o.fetching
}

// watchOffers returns the peers offered for version seq (infohash ih) of
// subscription id, whether a newer version was offered, and a channel
// closed at the next change; until unwatchOffers, what is offered for the
// version is the fetch's to take.
func (m *Manager) watchOffers(id string, seq int64, ih [20]byte) (peers []string, newer bool, changedC <-chan struct{}) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.offers[id]
	if o == nil || o.seq < seq || o.seq == seq && o.ih != ih {
		// Nothing offered for this version yet (an older one's peers are
		// no use): a place for what comes.
		o = &offer{seq: seq, ih: ih, changedC: make(chan struct{})}
		m.offers[id] = o
	}
	if o.seq > seq {
		return nil, true, o.changedC
	}
	o.fetching = true
	return slices.Clone(o.peers), false, o.changedC
}

// unwatchOffers ends the fetch of version seq of subscription id. A fetch
// that failed and could try again (retry) goes on instead if peers it did
// not ask (tried) were offered meanwhile, or a newer version: more.
func (m *Manager) unwatchOffers(id string, seq int64, ih [20]byte, tried []string, retry bool) (more bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.offers[id]
	switch {
	case o == nil:
		return false
	case o.seq > seq:
		return retry
	case o.seq < seq || o.ih != ih:
		return false
	}
	if retry {
		for _, p := range o.peers {
			if !slices.Contains(tried, p) {
				return true
			}
		}
	}
	o.fetching = false
	return false
}

// dropOffer forgets what was offered for versions up to seq: it is
// installed or refused.
func (m *Manager) dropOffer(id string, seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o := m.offers[id]; o != nil && o.seq <= seq {
		delete(m.offers, id)
	}
}

// fetchInfo gets the metadata of version seq (infohash ih) of
// subscription id from the known peers and from those offered for it,
// before the fetch or during it: the fetch starts again with them, and has
// FetchTimeout from then on; a fetch that failed goes on if new ones came
// meanwhile. It returns the peers it asked. With no peer at all it says so
// in the log; with no DHT to find one either it waits for an offer at most
// m.noPeerWait (FetchTimeout if shorter) and fails with errNoPeers, and
// the check is retried with a new lookup. A newer version offered
// meanwhile ends it with errSuperseded.
func (m *Manager) fetchInfo(ctx context.Context, id, name string, seq int64, ih [20]byte, known []string) ([]byte, []string, error) {
	var peers []string
	for _, p := range known {
		if !slices.Contains(peers, p) {
			peers = append(peers, p)
		}
	}
	now := time.Now()
	deadline := now.Add(m.o.FetchTimeout)
	noPeerDeadline := now.Add(min(m.o.FetchTimeout, m.noPeerWait))
	waiting := false // the no-peer line is logged
	tries := 0
	for {
		offered, newer, changedC := m.watchOffers(id, seq, ih)
		if newer {
			return nil, peers, errSuperseded
		}
		added := false
		for _, p := range offered {
			if !slices.Contains(peers, p) {
				peers = append(peers, p)
				added = true
			}
		}
		if added && (tries > 0 || waiting) {
			m.log.Info("channel version fetch: asking the peers offered", "subscription", id, "name", name, "version", seq, "peers", len(peers))
			if d := time.Now().Add(m.o.FetchTimeout); d.After(deadline) {
				deadline = d
			}
		}
		var (
			b   []byte
			err error
		)
		switch {
		case len(peers) == 0 && m.o.DHT == nil:
			if !waiting {
				m.log.Info("channel version has no known peer: waiting for one to be offered", "subscription", id, "name", name, "version", seq)
				waiting = true
			}
			t := time.NewTimer(time.Until(noPeerDeadline))
			select {
			case <-ctx.Done():
				err = ctx.Err()
			case <-t.C:
				err = errNoPeers
			case <-changedC:
				t.Stop()
				continue
			}
			t.Stop()
		default:
			if len(peers) == 0 && !waiting {
				m.log.Info("channel version has no known peer: the DHT looks for some", "subscription", id, "name", name, "version", seq)
				waiting = true
			}
			tries++
			var restart bool
			if b, restart, err = m.fetchUntil(ctx, ih, peers, deadline, changedC); restart {
				continue
			}
		}
		var ie *engine.InputError
		retry := err != nil && ctx.Err() == nil && !errors.As(err, &ie)
		if m.unwatchOffers(id, seq, ih, peers, retry) {
			continue // peers came too late for this try: another with them
		}
		return b, peers, err
	}
}

// fetchUntil runs one Engine.FetchInfo until it ends, deadline passes or
// changedC is closed (then restart is true, unless the fetch ended well
// meanwhile).
func (m *Manager) fetchUntil(ctx context.Context, ih [20]byte, peers []string, deadline time.Time, changedC <-chan struct{}) (b []byte, restart bool, err error) {
	fctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	type fetched struct {
		b   []byte
		err error
	}
	done := make(chan fetched, 1)
	go func() {
		b, err := m.o.Engine.FetchInfo(fctx, ih, slices.Clone(peers))
		done <- fetched{b, err}
	}()
	select {
	case f := <-done:
		return f.b, false, f.err
	case <-changedC:
	}
	cancel()
	if f := <-done; f.err == nil || ctx.Err() != nil {
		return f.b, false, f.err
	}
	return nil, true, nil
}

// peerAddrs turns offered addresses into the engine's host:port strings,
// leaving out those no peer can have, and at most maxOfferPeers.
func peerAddrs(peers []netip.AddrPort) []string {
	var out []string
	for _, p := range peers {
		a := p.Addr()
		if !p.IsValid() || p.Port() == 0 || a.IsUnspecified() || a.IsMulticast() {
			continue
		}
		if s := p.String(); !slices.Contains(out, s) && len(out) < maxOfferPeers {
			out = append(out, s)
		}
	}
	return out
}

// fetchError words a failed fetch of version seq's metadata.
func fetchError(seq int64, err error) error {
	if errors.Is(err, errSuperseded) {
		return err
	}
	return fmt.Errorf("fetch version %d metadata: %w", seq, err)
}
