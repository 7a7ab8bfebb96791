package mutable_test

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"

	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// hostileNode is a DHT node on loopback that is not an anacrolix server:
// a raw UDP socket speaking just enough KRPC to answer get queries the
// way the test wants.
type hostileNode struct {
	conn   *net.UDPConn
	id     [20]byte
	answer func(r map[string]any) []byte // adds to the base result, or returns raw bytes to send instead
	gets   atomic.Int32
	puts   atomic.Int32
	// replies gets the replies to queries the test sends from conn
	// (nil: dropped). Set before the node starts.
	replies chan krpc.Msg
}

func startHostile(t testing.TB, id [20]byte, answer func(r map[string]any) []byte) *hostileNode {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileNode{conn: conn, id: id, answer: answer, replies: make(chan krpc.Msg, 64)}
	var wg sync.WaitGroup
	wg.Go(h.serve)
	t.Cleanup(func() {
		conn.Close()
		wg.Wait()
	})
	return h
}

func (h *hostileNode) serve() {
	buf := make([]byte, 1<<16)
	for {
		n, from, err := h.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		var q krpc.Msg
		if bencode.Unmarshal(buf[:n], &q) != nil {
			continue
		}
		if q.Y != "q" {
			if q.Y == "r" && h.replies != nil {
				select {
				case h.replies <- q:
				default:
				}
			}
			continue
		}
		r := map[string]any{"id": h.id[:], "token": "hostile-token"}
		var raw []byte
		switch q.Q {
		case "get":
			h.gets.Add(1)
			raw = h.answer(r)
		case "put":
			h.puts.Add(1)
		}
		if raw == nil {
			raw = bencode.MustMarshal(map[string]any{"t": q.T, "y": "r", "r": r})
		}
		h.conn.WriteToUDP(raw, from)
	}
}

func (h *hostileNode) addr() *net.UDPAddr { return h.conn.LocalAddr().(*net.UDPAddr) }

// TestHostileReplies runs a get past a node that is the closest to the
// target and answers with each kind of bad item. The honest nodes' valid
// item must come out every time, and decodable bad replies must be
// counted as invalid.
func TestHostileReplies(t *testing.T) {
	honest := mutabletest.Start(t, 4, mutabletest.Options{ResendDelay: 200 * time.Millisecond})
	owner, attacker := key(10), key(11)
	good := sign(t, owner, "", 3, 3)
	put(t, honest[0].Server, good)

	val9 := mutable.InfohashValue([20]byte{9})
	sig9 := ed25519.Sign(owner, mutable.SignedBuffer(nil, 9, val9))
	big := append([]byte("1195:"), bytes.Repeat([]byte{'x'}, 1195)...)
	bigSig := ed25519.Sign(owner, mutable.SignedBuffer(nil, 9, big))
	negSig := ed25519.Sign(owner, mutable.SignedBuffer(nil, -1, val9))
	forged := sign(t, attacker, "", 9, 9)
	ownerKey := pubOf(owner)

	tests := []struct {
		name      string
		answer    func(r map[string]any) []byte
		decodable bool // the reply reaches the traversal (else it is dropped as bad KRPC)
	}{
		{"no seq", func(r map[string]any) []byte {
			r["k"], r["v"], r["sig"] = ownerKey[:], bencode.Bytes(val9), sig9
			return nil
		}, true},
		{"bad signature", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(val9), bytes.Repeat([]byte{7}, 64)
			return nil
		}, true},
		{"oversized value, signed", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(big), bigSig
			return nil
		}, true},
		{"wrong key, validly signed", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = forged.Key[:], forged.Seq, bencode.Bytes(forged.Value), forged.Sig[:]
			return nil
		}, true},
		{"short key", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:5], int64(9), bencode.Bytes(val9), sig9
			return nil
		}, true},
		{"no key", func(r map[string]any) []byte {
			r["seq"], r["v"], r["sig"] = int64(9), bencode.Bytes(val9), sig9
			return nil
		}, true},
		{"short signature", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(val9), sig9[:10]
			return nil
		}, true},
		{"tampered value", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(mutable.InfohashValue([20]byte{66})), sig9
			return nil
		}, true},
		{"old signature with a higher seq", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(good.Value), good.Sig[:]
			return nil
		}, true},
		{"seq without value", func(r map[string]any) []byte {
			r["seq"] = int64(9)
			return nil
		}, true},
		{"negative seq, signed", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(-1), bencode.Bytes(val9), negSig
			return nil
		}, true},
		{"seq not an integer", func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], "9", bencode.Bytes(val9), sig9
			return nil
		}, false},
		{"not bencode", func(r map[string]any) []byte { return []byte("d1:rd2:id") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The hostile node's ID is the closest possible to the target,
			// so it is asked first and sits among the closest.
			id := good.Target()
			id[19] ^= 1
			h := startHostile(t, id, tt.answer)
			getter := mutabletest.Start(t, 1, mutabletest.Options{ResendDelay: 200 * time.Millisecond})[0].Server
			mutabletest.Join(getter, mutabletest.Servers(honest))
			mutabletest.AddNode(getter, h.addr(), h.id)

			got, st, err := mutable.Lookup(ctxT(t), getter, good.Key, nil, 0, testLogger(t))
			if err != nil || !sameItem(got, good) {
				t.Fatalf("Lookup = seq %d %x, %v; want the honest seq 3", got.Seq, got.Value, err)
			}
			if h.gets.Load() == 0 {
				t.Fatalf("the hostile node was never asked")
			}
			if tt.decodable && st.Invalid == 0 {
				t.Errorf("stats %+v: the hostile reply was not counted as invalid", st)
			}
			if !tt.decodable && st.Invalid != 0 {
				t.Errorf("stats %+v: invalid > 0 for a reply anacrolix drops", st)
			}
			// A put past the same node is not fooled into ErrOutdated.
			if n, err := mutable.Put(ctxT(t), getter, good); err != nil || n == 0 {
				t.Errorf("Put past the hostile node = %d, %v; want > 0, nil", n, err)
			}
		})
	}
}

// With only hostile nodes around, nothing is found and nothing crashes.
func TestHostileOnly(t *testing.T) {
	owner := key(12)
	ownerKey := pubOf(owner)
	val := mutable.InfohashValue([20]byte{1})
	sig := ed25519.Sign(owner, mutable.SignedBuffer(nil, 1, val))
	target := mutable.Target(ownerKey, nil)
	getter := mutabletest.Start(t, 1, mutabletest.Options{ResendDelay: 200 * time.Millisecond})[0].Server
	for i := range 3 {
		id := target
		id[19] ^= byte(i + 1)
		h := startHostile(t, id, func(r map[string]any) []byte {
			r["k"], r["v"], r["sig"] = ownerKey[:], bencode.Bytes(val), sig // no seq
			return nil
		})
		mutabletest.AddNode(getter, h.addr(), h.id)
	}
	_, st, err := mutable.Lookup(ctxT(t), getter, ownerKey, nil, 0, nil)
	if !errors.Is(err, mutable.ErrNotFound) || st.Invalid != 3 {
		t.Fatalf("Lookup = %v, stats %+v; want ErrNotFound, invalid 3", err, st)
	}
}
