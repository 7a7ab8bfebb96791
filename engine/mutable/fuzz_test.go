package mutable

import (
	"crypto/ed25519"
	"crypto/sha1"
	"errors"
	"testing"
	"time"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

// FuzzReply feeds raw KRPC replies, decoded as the DHT server decodes
// them, to the reply check of the get traversal: it must never panic,
// and whatever it calls valid must be a verified item of the target at
// or above minSeq.
func FuzzReply(f *testing.F) {
	salt := []byte("s")
	good, err := Sign(testKey(f, 1), salt, 3, InfohashValue([20]byte{3}))
	if err != nil {
		f.Fatal(err)
	}
	target := good.Target()
	reply := func(r map[string]any) []byte {
		r["id"] = make([]byte, 20)
		return bencode.MustMarshal(map[string]any{"t": "aa", "y": "r", "r": r})
	}
	f.Add(reply(map[string]any{"k": good.Key[:], "seq": good.Seq, "v": bencode.Bytes(good.Value), "sig": good.Sig[:]}), int64(0))
	f.Add(reply(map[string]any{"k": good.Key[:], "seq": good.Seq, "v": bencode.Bytes(good.Value), "sig": good.Sig[:]}), int64(4))
	f.Add(reply(map[string]any{"k": good.Key[:], "v": bencode.Bytes(good.Value), "sig": good.Sig[:]}), int64(0))
	f.Add(reply(map[string]any{"seq": int64(2)}), int64(3))
	f.Add(reply(map[string]any{"k": good.Key[:5], "seq": int64(9), "v": "x", "sig": "y"}), int64(0))
	f.Add(reply(map[string]any{"token": "t", "nodes": make([]byte, 26)}), int64(0))
	f.Add([]byte("d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa1:v1:xe1:t2:aa1:y1:re"), int64(-1))
	f.Fuzz(func(t *testing.T, b []byte, minSeq int64) {
		var m krpc.Msg
		if err := bencode.Unmarshal(b, &m); err != nil {
			var trailing bencode.ErrUnusedTrailingBytes
			if !errors.As(err, &trailing) {
				return // the DHT server drops it
			}
		}
		if m.R == nil {
			return
		}
		minSeq = max(minSeq, 0)
		it, v, reason := checkReply(target, salt, minSeq, m.R)
		switch v {
		case replyValid:
			if err := it.Verify(); err != nil {
				t.Fatalf("valid reply fails Verify: %v", err)
			}
			if it.Target() != target || it.Seq < minSeq {
				t.Fatalf("valid reply: target %x seq %d, want %x and ≥ %d", it.Target(), it.Seq, target, minSeq)
			}
		case replyInvalid:
			if reason == "" {
				t.Fatalf("invalid reply without a reason")
			}
		}
	})
}

// FuzzStorePut drives a Store of 3 items with puts built from the input,
// as a DHT node gets them from anyone: 4 keys, any seq, cas and salt,
// values as a put's decoded value or raw bytes, signatures valid or not.
// The store must never panic, never hold more than 3 items, and what it
// holds must be an item a node may serve: a value that is one bencoded
// value of ≤ 1000 bytes, signed by its key (mutable) or hashing to its
// target (immutable), and for a key, a seq that never goes back.
func FuzzStorePut(f *testing.F) {
	// The first seed stored a truncated value given as bencode.Bytes
	// ("d2:ih20:aaaaaa") until Put checked that values are well formed.
	f.Add([]byte{0x00, 0x10, 0x21, 0x32, 0x43, 0x54, 0x05}, []byte("d2:ih20:aaaaaaaaaaaaaaaaaaaae"), []byte("s"))
	f.Add([]byte{0x80, 0x81, 0x82, 0x83, 0x84}, []byte("i5e"), []byte{})
	f.Add([]byte{0x40, 0x44, 0x48, 0xc0, 0x01}, []byte("4:spam"), []byte("salt"))
	f.Add([]byte{0x01, 0x01, 0x01}, []byte("not bencode"), []byte(nil))
	f.Fuzz(func(t *testing.T, ops, value, salt []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		s, clock := newTestStore(3)
		var keys [4][32]byte
		privs := make([]ed25519.PrivateKey, 4)
		for i := range privs {
			privs[i] = testKey(t, byte(i+1))
			copy(keys[i][:], privs[i].Public().(ed25519.PublicKey))
		}
		lastSeq := map[[20]byte]int64{}
		for n, op := range ops {
			k := int(op & 3)
			seq := int64(op>>2&7) - 1 // -1..6
			it := &bep44.Item{Seq: seq}
			v := value
			if op&0x20 != 0 && len(v) > 0 {
				v = v[:len(v)/2] // another value at a seq
			}
			var decoded any
			if op&0x40 == 0 && bencode.Unmarshal(v, &decoded) == nil {
				it.V = decoded // as a put arrives from the network
			} else if len(v) > 0 {
				it.V = bencode.Bytes(v) // as a local caller might pass it
			} else {
				it.V = "x"
			}
			if op&0x80 == 0 { // mutable
				it.K = keys[k]
				it.Salt = salt
				if bv, err := bencode.Marshal(it.V); err == nil {
					copy(it.Sig[:], ed25519.Sign(privs[k], SignedBuffer(salt, seq, bv)))
				}
				if n%5 == 4 {
					it.Sig[0] ^= 1 // a bad signature
				}
				if n%7 == 6 {
					it.Cas = seq - 1
				}
			}
			_ = s.Put(it)
			if n%9 == 8 {
				clock.add(40 * time.Minute)
			}
		}
		st := s.Stats()
		if st.Items > 3 {
			t.Fatalf("store holds %d items, cap 3", st.Items)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for target, el := range s.items {
			e := el.Value.(*storeEntry)
			bv, ok := e.item.V.(bencode.Bytes)
			if !ok {
				t.Fatalf("stored value is a %T, want encoded bencode.Bytes", e.item.V)
			}
			if err := wellFormed(bv); err != nil || len(bv) > MaxValueSize {
				t.Fatalf("stored value %q (%d bytes): %v", bv, len(bv), err)
			}
			if e.item.IsMutable() {
				it := Item{Key: e.item.K, Salt: e.item.Salt, Seq: e.item.Seq, Value: bv, Sig: e.item.Sig}
				if err := it.Verify(); err != nil || it.Target() != target {
					t.Fatalf("stored mutable item does not verify (%v) or is under another target", err)
				}
				if last, ok := lastSeq[target]; ok && it.Seq < last {
					t.Fatalf("seq went back: %d after %d", it.Seq, last)
				}
				lastSeq[target] = it.Seq
			} else if sha1.Sum(bv) != target {
				t.Fatalf("immutable value %q is not under its hash", bv)
			}
		}
	})
}
