package mutable

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/int160"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/dht/v2/traversal"
	"github.com/anacrolix/dht/v2/types"
	"github.com/anacrolix/generics"
)

// Errors of Get and Put.
var (
	// ErrNotFound: the traversal ended (stalled or ran out of time)
	// without a valid item of at least the asked seq.
	ErrNotFound = errors.New("mutable: no valid item found")
	// ErrNoNodes: the DHT node knows no other node to ask.
	ErrNoNodes = errors.New("mutable: no DHT nodes to ask")
	// ErrOutdated: the DHT holds a valid item with a higher seq than
	// the one being put.
	ErrOutdated = errors.New("mutable: a newer item is in the DHT")
	// ErrCASMismatch: every node that answered refused a PutCAS because
	// it holds another seq than the expected one.
	ErrCASMismatch = errors.New("mutable: CAS mismatch")
)

// Traversal bounds. A traversal also ends when it stalls (no closer node
// left to ask) or when its context ends.
const (
	alpha          = 5   // queries in flight
	closestK       = 8   // nodes kept as closest, and put to (BEP 5's K)
	maxQueries     = 128 // per traversal: hostile nodes can hand out endless fake nodes
	maxNodesPerAns = 16  // nodes taken from one reply
	maxTokenLen    = 64  // write tokens are short strings (BEP 5)
)

// Stats count the replies of one Lookup.
type Stats struct {
	Queried   int // nodes asked
	Responses int // nodes that answered
	Valid     int // answers with a valid item of seq ≥ minSeq
	Holders   int // valid answers carrying the returned item
	Older     int // answers holding an item below minSeq (or its seq alone)
	Invalid   int // answers with an item that failed a check (ignored)
}

// Get finds the item of pub and salt with the highest seq that is at
// least minSeq, asking the DHT through s (e.g. engine.DHT()). Every reply
// is checked — the key must hash to the target, the signature must
// verify, seq must be present and ≥ minSeq, the value ≤ 1000 bytes —
// and failing replies are ignored, never trusted. Get returns when the
// traversal stalls or ctx ends; if it found a valid item by then it
// returns it, else an error wrapping ErrNotFound (and ctx's error if
// that ended it) or ErrNoNodes.
//
// minSeq saves bandwidth too: nodes holding an older item answer with
// its seq only. A subscriber at version N asks for minSeq N+1 to learn
// of newer versions, or N to get the current item back (to re-put it).
func Get(ctx context.Context, s *dht.Server, pub [32]byte, salt []byte, minSeq int64) (Item, error) {
	it, _, err := Lookup(ctx, s, pub, salt, minSeq, nil)
	return it, err
}

// Lookup is Get that also returns the traversal's counts and logs each
// ignored reply at debug level to log (nil: no logging).
func Lookup(ctx context.Context, s *dht.Server, pub [32]byte, salt []byte, minSeq int64, log *slog.Logger) (Item, Stats, error) {
	if len(salt) > MaxSaltSize {
		return Item{}, Stats{}, fmt.Errorf("%w: %d bytes", ErrSaltTooBig, len(salt))
	}
	tr := newTraversal(s, pub, salt, minSeq, log)
	if _, err := tr.run(ctx); err != nil {
		return Item{}, tr.stats, err
	}
	tr.log.Debug("DHT get done", "target", fmt.Sprintf("%x", tr.target), "queried", tr.stats.Queried,
		"responses", tr.stats.Responses, "valid", tr.stats.Valid, "older", tr.stats.Older, "invalid", tr.stats.Invalid)
	if !tr.found {
		if err := ctx.Err(); err != nil {
			return Item{}, tr.stats, fmt.Errorf("%w after %d replies (%w)", ErrNotFound, tr.stats.Responses, err)
		}
		return Item{}, tr.stats, fmt.Errorf("%w in %d replies (%d older, %d invalid)",
			ErrNotFound, tr.stats.Responses, tr.stats.Older, tr.stats.Invalid)
	}
	return tr.best, tr.stats, nil
}

// getTraversal is one BEP 44 get traversal toward a mutable target.
type getTraversal struct {
	s      *dht.Server
	target [20]byte
	salt   []byte
	minSeq int64
	qseq   *int64 // seq sent with each get: nodes omit items at or below it
	log    *slog.Logger

	mu    sync.Mutex
	asked map[netip.AddrPort]struct{}
	stats Stats
	found bool
	best  Item
}

// nodeData is what a traversal keeps of each closest node: its write
// token and the seq it said it holds (for CAS).
type nodeData struct {
	token string
	seq   *int64
}

func newTraversal(s *dht.Server, pub [32]byte, salt []byte, minSeq int64, log *slog.Logger) *getTraversal {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tr := &getTraversal{s: s, target: Target(pub, salt), salt: bytes.Clone(salt), minSeq: max(minSeq, 0), log: log,
		asked: make(map[netip.AddrPort]struct{})}
	if tr.minSeq > 0 {
		q := tr.minSeq - 1
		tr.qseq = &q
	}
	return tr
}

// run traverses until the traversal stalls or ctx ends, and returns the
// stopped operation (for its closest nodes).
func (tr *getTraversal) run(ctx context.Context) (*traversal.Operation, error) {
	nodes, err := tr.s.TraversalStartingNodes()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoNodes, err)
	}
	op := traversal.Start(traversal.OperationInput{
		Target:     tr.target,
		Alpha:      alpha,
		K:          closestK,
		DoQuery:    func(qctx context.Context, addr krpc.NodeAddr) traversal.QueryResult { return tr.query(ctx, qctx, addr) },
		NodeFilter: tr.s.TraversalNodeFilter,
		// Only nodes that gave a write token count as closest: they are
		// the ones a put can go to.
		DataFilter: func(d any) bool { _, ok := d.(nodeData); return ok },
	})
	// The node itself is asked too, over loopback: it may hold the item
	// for others (on a household DHT of two devices it often does), and
	// the traversal never learns its own address from its routing table.
	if self, ok := selfAddr(tr.s); ok {
		nodes = append(nodes, self)
	}
	op.AddNodes(nodes)
	select {
	case <-op.Stalled():
	case <-ctx.Done():
	}
	op.Stop()
	<-op.Stopped() // no query of this traversal outlives the call
	return op, nil
}

// selfAddr is the address s can reach itself at: its listen address,
// with loopback for an unspecified IP.
func selfAddr(s *dht.Server) (types.AddrMaybeId, bool) {
	ua, ok := s.Addr().(*net.UDPAddr)
	if !ok || ua.Port == 0 {
		return types.AddrMaybeId{}, false
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return types.AddrMaybeId{}, false
	}
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		if ip.Is4() {
			ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
		} else {
			ip = netip.IPv6Loopback()
		}
	}
	return types.AddrMaybeId{
		Addr: krpc.NodeAddrPort{AddrPort: netip.AddrPortFrom(ip, uint16(ua.Port))},
		Id:   generics.Some(int160.FromByteArray(s.ID())),
	}, true
}

// query asks one node. qctx ends when the traversal stops, ctx when the
// caller gives up.
func (tr *getTraversal) query(ctx, qctx context.Context, addr krpc.NodeAddr) traversal.QueryResult {
	// The traversal tells addresses apart by their text, so a node known
	// by its IPv4 address and by the IPv4-mapped IPv6 form of it would be
	// asked twice (and count twice among the closest).
	ap := addr.ToNodeAddrPort().AddrPort
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	tr.mu.Lock()
	if _, dup := tr.asked[ap]; dup || tr.stats.Queried >= maxQueries {
		tr.mu.Unlock()
		return traversal.QueryResult{}
	}
	tr.asked[ap] = struct{}{}
	tr.stats.Queried++
	tr.mu.Unlock()
	qctx, cancel := context.WithCancel(qctx)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	res := tr.s.Get(qctx, dht.NewAddr(addr.UDP()), tr.target, tr.qseq, dht.QueryRateLimiting{})
	r := res.Reply.R
	if res.Err != nil || r == nil {
		return traversal.QueryResult{}
	}
	tr.take(addr, r)
	ret := traversal.QueryResult{
		ResponseFrom: &krpc.NodeInfo{Addr: addr, ID: r.ID},
		Nodes:        r.Nodes[:min(len(r.Nodes), maxNodesPerAns)],
		Nodes6:       r.Nodes6[:min(len(r.Nodes6), maxNodesPerAns)],
	}
	if r.Token != nil && len(*r.Token) > 0 && len(*r.Token) <= maxTokenLen {
		ret.ClosestData = nodeData{token: *r.Token, seq: r.Seq}
	}
	return ret
}

// take records one reply.
func (tr *getTraversal) take(addr krpc.NodeAddr, r *krpc.Return) {
	it, v, reason := checkReply(tr.target, tr.salt, tr.minSeq, r)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.stats.Responses++
	switch v {
	case replyInvalid:
		tr.stats.Invalid++
		tr.log.Debug("ignored DHT reply", "node", addr.String(), "reason", reason)
	case replyOlder:
		tr.stats.Older++
	case replyValid:
		tr.stats.Valid++
		switch {
		case !tr.found || it.Seq > tr.best.Seq:
			tr.found, tr.best, tr.stats.Holders = true, it, 1
		case it.Seq == tr.best.Seq && bytes.Equal(it.Value, tr.best.Value):
			tr.stats.Holders++
		}
	}
}

type replyVerdict int

const (
	replyEmpty   replyVerdict = iota // the node holds nothing
	replyOlder                       // the node holds an older item
	replyValid                       // a valid item of seq ≥ minSeq
	replyInvalid                     // a reply that fails a check
)

// checkReply judges a get reply for target (the target of some key and
// salt). It trusts nothing in r: any field may be missing or hostile.
func checkReply(target [20]byte, salt []byte, minSeq int64, r *krpc.Return) (Item, replyVerdict, string) {
	if len(r.V) == 0 {
		switch {
		case r.Seq == nil:
			return Item{}, replyEmpty, ""
		case *r.Seq < minSeq:
			return Item{}, replyOlder, ""
		default:
			// Nodes leave the value out only for seqs we did not ask for.
			return Item{}, replyInvalid, "seq without a value"
		}
	}
	if r.Seq == nil {
		return Item{}, replyInvalid, "value without seq"
	}
	if len(r.V) > MaxValueSize {
		return Item{}, replyInvalid, fmt.Sprintf("value of %d bytes", len(r.V))
	}
	if Target(r.K, salt) != target {
		return Item{}, replyInvalid, "key does not match the target"
	}
	it := Item{Key: r.K, Salt: salt, Seq: *r.Seq, Value: bytes.Clone(r.V), Sig: r.Sig}
	if err := it.Verify(); err != nil {
		return Item{}, replyInvalid, err.Error()
	}
	if it.Seq < minSeq {
		return Item{}, replyOlder, ""
	}
	return it, replyValid, ""
}

// seqAfter is seq+1 without overflow.
func seqAfter(seq int64) int64 {
	if seq == math.MaxInt64 {
		return seq
	}
	return seq + 1
}
