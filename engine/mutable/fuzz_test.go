package mutable

import (
	"errors"
	"testing"

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
