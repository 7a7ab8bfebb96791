package mutable

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	k_nearest_nodes "github.com/anacrolix/dht/v2/k-nearest-nodes"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// Put stores an already signed item on the DHT nodes closest to its
// target (up to 8), using write tokens from a get traversal through s.
// It serves the owner putting a new version and anyone re-putting the
// latest item they hold (BEP 44 lets a signed item be put again by
// anyone, unchanged). It returns how many nodes accepted the item.
//
// Put refuses to spread an item when the traversal met a valid item with
// a higher seq (ErrOutdated, nothing put). It returns an error when no
// node stored the item; stored > 0 means success. Part of ctx's time
// (a quarter, if it has a deadline) is kept for the puts themselves.
func Put(ctx context.Context, s *dht.Server, item Item) (stored int, err error) {
	return put(ctx, s, item, 0)
}

// PutCAS is Put with BEP 44 compare-and-swap: nodes that told the
// traversal they hold an item are asked to replace it only if its seq is
// cas (nodes that hold nothing take the item as is). When every node
// refuses over a mismatch, the error wraps ErrCASMismatch. cas 0 means no
// CAS (BEP 44 cannot express a CAS on seq 0). anacrolix nodes (v2.23.0)
// check CAS against the wrong field; Hearth's Store checks it right.
func PutCAS(ctx context.Context, s *dht.Server, item Item, cas int64) (stored int, err error) {
	return put(ctx, s, item, cas)
}

func put(ctx context.Context, s *dht.Server, item Item, cas int64) (int, error) {
	if err := item.Verify(); err != nil {
		return 0, fmt.Errorf("put: %w", err)
	}
	tctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		tctx, cancel = context.WithDeadline(ctx, dl.Add(-time.Until(dl)/4))
		defer cancel()
	}
	tr := newTraversal(s, item.Key, item.Salt, seqAfter(item.Seq), nil)
	op, err := tr.run(tctx)
	if err != nil {
		return 0, fmt.Errorf("put: %w", err)
	}
	if tr.found && tr.best.Seq > item.Seq {
		return 0, fmt.Errorf("%w: seq %d found, putting %d", ErrOutdated, tr.best.Seq, item.Seq)
	}
	var closest []k_nearest_nodes.Elem
	op.Closest().Range(func(e k_nearest_nodes.Elem) { closest = append(closest, e) })
	if len(closest) == 0 {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("put: %w", err)
		}
		return 0, fmt.Errorf("put: %w: none gave a write token (%d asked)", ErrNoNodes, tr.stats.Queried)
	}

	seq := item.Seq
	var (
		mu                                sync.Mutex
		stored, outdated, casFail, failed int
		lastErr                           error
		wg                                sync.WaitGroup
	)
	for _, e := range closest {
		d := e.Data.(nodeData) // the traversal's DataFilter keeps only these
		args := krpc.MsgArgs{
			Token: d.token,
			K:     item.Key,
			Salt:  item.Salt,
			Seq:   &seq,
			Sig:   item.Sig,
			V:     bencode.Bytes(item.Value),
		}
		if cas != 0 && d.seq != nil {
			args.Cas = cas
		}
		addr := dht.NewAddr(e.Addr.UDP())
		wg.Go(func() {
			res := s.Query(ctx, addr, "put", dht.QueryInput{MsgArgs: args})
			err := res.ToError()
			if err == nil && res.Reply.R == nil {
				err = errors.New("reply without a result")
			}
			mu.Lock()
			defer mu.Unlock()
			var kerr *krpc.Error
			switch {
			case err == nil:
				stored++
			case errors.As(err, &kerr) && kerr.Code == krpc.ErrorCodeSequenceNumberLessThanCurrent:
				outdated++
			case errors.As(err, &kerr) && kerr.Code == krpc.ErrorCodeCasHashMismatched:
				casFail++
			default:
				failed++
				lastErr = err
			}
		})
	}
	wg.Wait()
	switch {
	case stored > 0:
		return stored, nil
	case outdated > 0:
		return 0, fmt.Errorf("%w: %d of %d nodes hold a newer seq", ErrOutdated, outdated, len(closest))
	case casFail > 0:
		return 0, fmt.Errorf("%w: %d of %d nodes", ErrCASMismatch, casFail, len(closest))
	default:
		return 0, fmt.Errorf("put: no node stored the item (%d asked, last error: %v)", len(closest), lastErr)
	}
}
