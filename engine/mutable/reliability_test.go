package mutable_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anacrolix/torrent/bencode"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// compactNodes is n BEP 5 compact node infos (20-byte ID, IPv4, port)
// that all point at loopback addresses where nothing listens.
func compactNodes(t testing.TB, n int) []byte {
	t.Helper()
	// A port that was just free on 127.0.0.1, and 127.66.x.y on any port:
	// nothing answers there, and nothing leaves the machine.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	closedPort := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	b := make([]byte, 0, 26*n)
	for i := range n {
		var id [20]byte
		rand.Read(id[:])
		b = append(b, id[:]...)
		if i%2 == 0 {
			b = append(b, 127, 0, 0, 1)
			b = binary.BigEndian.AppendUint16(b, uint16(closedPort))
		} else {
			b = append(b, 127, 66, byte(i>>8), byte(i))
			b = binary.BigEndian.AppendUint16(b, uint16(20000+i))
		}
	}
	return b
}

// TestReliabilityHostileDHT puts hostile DHT nodes among honest ones and
// checks that a subscriber's lookups keep finding the channel's highest
// valid version, and that a flood of puts leaves a Hearth node's item
// store at its cap.
func TestReliabilityHostileDHT(t *testing.T) {
	cfg, err := config.Default("router")
	if err != nil {
		t.Fatal(err)
	}
	capItems := cfg.Channels.DHTItems // the smallest device's cap
	honest := mutabletest.Start(t, 6, mutabletest.Options{MaxItems: capItems, ResendDelay: 200 * time.Millisecond})
	sub := mutabletest.Start(t, 1, mutabletest.Options{MaxItems: capItems, ResendDelay: 200 * time.Millisecond})[0]
	mutabletest.Join(sub.Server, mutabletest.Servers(honest))

	owner, attacker := key(40), key(41)
	ownerKey := pubOf(owner)
	old := sign(t, owner, "", 2, 2)     // a real, older version: replayed
	current := sign(t, owner, "", 5, 5) // the channel's latest
	const held = 3                      // the subscriber holds version 3
	put(t, honest[0].Server, current)

	val := func(ih byte) bencode.Bytes { return bencode.Bytes(mutable.InfohashValue([20]byte{ih})) }
	sig9 := ed25519.Sign(owner, mutable.SignedBuffer(nil, 9, mutable.InfohashValue([20]byte{9})))
	big := append([]byte("1195:"), bytes.Repeat([]byte{'x'}, 1195)...)
	bigSig := ed25519.Sign(owner, mutable.SignedBuffer(nil, 9, big))
	notBEP46 := []byte("d2:ihi5e4:junk3:abce")
	forged := sign(t, attacker, "", 9, 9)
	nodes := compactNodes(t, 2000)

	var rotate atomic.Int32
	kinds := []struct {
		name      string
		decodable bool // reaches the reply check (else anacrolix drops the packet)
		answer    func(r map[string]any) []byte
	}{
		{"missing seq", true, func(r map[string]any) []byte {
			r["k"], r["v"], r["sig"] = ownerKey[:], val(9), sig9
			return nil
		}},
		{"bad signature", true, func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), val(9), bytes.Repeat([]byte{7}, 64)
			return nil
		}},
		{"lower seq (replay of version 2)", false, func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], old.Seq, bencode.Bytes(old.Value), old.Sig[:]
			return nil
		}},
		{"oversized value", true, func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(big), bigSig
			return nil
		}},
		{"value not a BEP 46 dict", true, func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = ownerKey[:], int64(9), bencode.Bytes(notBEP46), sig9
			return nil
		}},
		{"another key's valid item", true, func(r map[string]any) []byte {
			r["k"], r["seq"], r["v"], r["sig"] = forged.Key[:], forged.Seq, bencode.Bytes(forged.Value), forged.Sig[:]
			return nil
		}},
		{"garbage bencode", false, func(r map[string]any) []byte { return []byte("d1:rd2:id20:\xff\xfe1:vli1ei2e") }},
		{"2000 nodes at dead loopback ports", false, func(r map[string]any) []byte {
			r["nodes"] = nodes
			return nil
		}},
	}
	// Four hostile nodes, closer to the target than any honest node (a
	// routing-table bucket holds 8 nodes, so more would not all fit).
	// Each lookup round sets which kind they answer with.
	target := current.Target()
	var mode atomic.Int32 // kinds index; -1: each node answers another kind
	var hostile []*hostileNode
	for i := range 4 {
		id := target
		id[19] ^= byte(i + 1)
		h := startHostile(t, id, func(r map[string]any) []byte {
			k := int(mode.Load())
			if k < 0 {
				k = (i + int(rotate.Add(1))) % len(kinds)
			}
			return kinds[k].answer(r)
		})
		hostile = append(hostile, h)
		mutabletest.AddNode(sub.Server, h.addr(), h.id)
		for _, n := range honest {
			mutabletest.AddNode(n.Server, h.addr(), h.id)
		}
	}

	var lines []string
	lookup := func(t *testing.T, minSeq int64) (mutable.Stats, time.Duration) {
		t.Helper()
		start := time.Now()
		got, st, err := mutable.Lookup(ctxT(t), sub.Server, ownerKey, nil, minSeq, nil)
		if err != nil || !sameItem(got, current) {
			t.Fatalf("Lookup(minSeq %d) = seq %d %x, %v (stats %+v); want the owner's seq 5", minSeq, got.Seq, got.Value, err, st)
		}
		return st, time.Since(start)
	}

	t.Run("lookups past hostile nodes", func(t *testing.T) {
		for k := range kinds {
			mode.Store(int32(k))
			for _, h := range hostile {
				h.gets.Store(0)
			}
			// New versions (held+1), and the current one back (to re-put it).
			for _, minSeq := range []int64{held + 1, held} {
				st, took := lookup(t, minSeq)
				asked := 0
				for _, h := range hostile {
					asked += int(h.gets.Load())
				}
				if asked == 0 {
					t.Fatalf("%s: no hostile node was asked", kinds[k].name)
				}
				if kinds[k].decodable && st.Invalid == 0 {
					t.Errorf("%s, minSeq %d: no invalid reply counted (stats %+v)", kinds[k].name, minSeq, st)
				}
				if minSeq == held+1 {
					lines = append(lines, fmt.Sprintf("- %s: version 5 found in %.2f s; %d nodes asked (cap 128), %d replies, %d invalid, %d older.",
						kinds[k].name, took.Seconds(), st.Queried, st.Responses, st.Invalid, st.Older))
				}
			}
		}
		mode.Store(-1)
		st, took := lookup(t, held+1)
		lines = append(lines, fmt.Sprintf("- all kinds mixed: version 5 found in %.2f s; %d nodes asked, %d invalid.", took.Seconds(), st.Queried, st.Invalid))
	})

	t.Run("put flood", func(t *testing.T) {
		n := 5000
		if enginetest.Full() {
			n = 50_000
		}
		flooder := hostile[0]
		to := sub.Server.Addr().(*net.UDPAddr)
		before := heapInUse()
		stBefore := sub.Store.Stats()
		// A write token for the flooder's address (any target will do).
		get := bencode.MustMarshal(map[string]any{"t": "tk", "y": "q", "q": "get",
			"a": map[string]any{"id": flooder.id[:], "target": target[:]}})
		var token string
		for token == "" {
			if _, err := flooder.conn.WriteToUDP(get, to); err != nil {
				t.Fatal(err)
			}
			select {
			case m := <-flooder.replies:
				if m.R != nil && m.R.Token != nil {
					token = *m.R.Token
				}
			case <-time.After(2 * time.Second):
			}
		}
		// Valid items of fresh keys with values near the 1000-byte limit,
		// bad signatures, oversized values and immutable items, in bursts
		// (a receive buffer overflowing only tests the kernel).
		value := bencode.MustMarshal(strings.Repeat("v", 990))
		start := time.Now()
		for i := range n {
			a := map[string]any{"id": flooder.id[:], "token": token}
			switch i % 10 {
			case 7: // bad signature
				a["k"], a["seq"], a["v"], a["sig"] = ownerKey[:], int64(100+i), bencode.Bytes(value), make([]byte, 64)
			case 8: // oversized
				a["k"], a["seq"], a["v"], a["sig"] = ownerKey[:], int64(100+i), bencode.Bytes(big), bigSig
			case 9: // immutable
				a["v"] = bencode.Bytes(bencode.MustMarshal(fmt.Sprintf("%d:%s", i, strings.Repeat("i", 900))))
			default:
				_, priv, _ := ed25519.GenerateKey(rand.Reader)
				it, err := mutable.Sign(priv, nil, int64(i), value)
				if err != nil {
					t.Fatal(err)
				}
				a["k"], a["seq"], a["v"], a["sig"] = it.Key[:], it.Seq, bencode.Bytes(it.Value), it.Sig[:]
			}
			q := bencode.MustMarshal(map[string]any{"t": fmt.Sprintf("p%d", i), "y": "q", "q": "put", "a": a})
			if _, err := flooder.conn.WriteToUDP(q, to); err != nil {
				t.Fatal(err)
			}
			if i%25 == 24 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		// The store has taken what reached it once the counters settle.
		var st mutable.StoreStats
		for last := -1; ; time.Sleep(200 * time.Millisecond) {
			st = sub.Store.Stats()
			if st.Stored+st.Rejected == last {
				break
			}
			last = st.Stored + st.Rejected
		}
		took := time.Since(start)
		after := heapInUse()
		stored := st.Stored - stBefore.Stored
		if st.Items > capItems {
			t.Errorf("store holds %d items after the flood, want ≤ %d", st.Items, capItems)
		}
		if stored < n/2 {
			t.Errorf("store accepted %d of %d puts: the flood did not reach it", stored, n)
		}
		if st.Evicted == 0 {
			t.Errorf("no item evicted: the cap was never reached")
		}
		// Budget: capItems items of ≤ 1000 bytes with keys and list links
		// (~1.3 KB each: 260 KB for the router's 200) plus the DHT
		// server's own tables; unbounded, 5,000 puts of ~1 KB would keep
		// 5 MB and 50,000 would keep 50 MB.
		growth := int64(after) - int64(before)
		if growth > 3<<20 {
			t.Errorf("heap grew by %.1f MiB over the flood, want ≤ 3 MiB (the store is capped at %d items)", float64(growth)/(1<<20), capItems)
		}
		// Still the right version, through the flooded node.
		_, ltook := lookup(t, held+1)
		// And a new version published after the flood is found.
		next := sign(t, owner, "", 6, 6)
		put(t, honest[1].Server, next)
		got, err := mutable.Get(ctxT(t), sub.Server, ownerKey, nil, 6)
		if err != nil || !sameItem(got, next) {
			t.Fatalf("Get(minSeq 6) after the flood = seq %d, %v; want 6", got.Seq, err)
		}
		current = next
		lines = append(lines, fmt.Sprintf("- Put flood: %d puts (70 %% valid items of fresh keys with ~1,000-byte values, 10 %% bad signatures, 10 %% oversized, 10 %% immutable) in %.1f s to a node capped at %d items (router profile): %d accepted by the store (%d refused by the store's checks; the other %d refused by the DHT server's checks before it or dropped by the socket buffer), %d evicted, %d held after; heap %.1f → %.1f MiB. A lookup through that node then took %.1f s and still found version 5; version 6, put after the flood, was found too.",
			n, took.Seconds(), capItems, stored, st.Rejected-stBefore.Rejected, n-stored-(st.Rejected-stBefore.Rejected), st.Evicted-stBefore.Evicted, st.Items, float64(before)/(1<<20), float64(after)/(1<<20), ltook.Seconds()))
	})
	enginetest.Report(t, "25-hostile-dht", "## Hostile DHT nodes\n\nA subscriber holding version 3 of a channel whose owner published version 5 looks it up past 4 hostile nodes closer to the target than the 6 honest ones, once per kind of bad answer:\n\n"+strings.Join(lines, "\n")+"\n")
}
