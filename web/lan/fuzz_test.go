package lan

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/hearth-media/hearth/engine/mutable"
)

// FuzzDecodeItem feeds answers a neighbour on the LAN could send (any
// phone or box on the network can answer) to decodeItem. It must never
// panic; what it accepts must verify and be for the asked target, and
// encoding it again (toWire) must decode to the same item and port.
func FuzzDecodeItem(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	good, err := mutable.Sign(priv, []byte("salt"), 4, mutable.InfohashValue([20]byte{4}))
	if err != nil {
		f.Fatal(err)
	}
	nosalt, err := mutable.Sign(priv, nil, 1, mutable.InfohashValue([20]byte{1}))
	if err != nil {
		f.Fatal(err)
	}
	target := good.Target()
	enc := func(w wireItem) []byte {
		b, err := json.Marshal(w)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	f.Add(enc(toWire(good, 6881)))
	f.Add(enc(toWire(nosalt, 0)))
	bad := toWire(good, 6881)
	bad.Seq = 5
	f.Add(enc(bad))
	bad = toWire(good, 70000)
	f.Add(enc(bad))
	f.Add([]byte(`{"key":"` + hex.EncodeToString(good.Key[:]) + `","salt":"73616c74","seq":4,"value":"ZDI6aWgyMDph","sig":"00","peerPort":1,"extra":1}`))
	f.Add([]byte(`{"key":"zz"}{}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		it, port, err := decodeItem(bytes.NewReader(b), target)
		if err != nil {
			return
		}
		if it.Target() != target {
			t.Fatalf("accepted an item for target %x, asked %x", it.Target(), target)
		}
		if err := it.Verify(); err != nil {
			t.Fatalf("accepted an item that does not verify: %v", err)
		}
		if port < 0 || port > 65535 {
			t.Fatalf("accepted peer port %d", port)
		}
		again, err := json.Marshal(toWire(it, port))
		if err != nil {
			t.Fatal(err)
		}
		it2, port2, err := decodeItem(bytes.NewReader(again), target)
		if err != nil || port2 != port || it2.Key != it.Key || !bytes.Equal(it2.Salt, it.Salt) ||
			it2.Seq != it.Seq || !bytes.Equal(it2.Value, it.Value) || it2.Sig != it.Sig {
			t.Fatalf("round trip of %q: %+v port %d, %v; want %+v port %d", again, it2, port2, err, it, port)
		}
	})
}
