package mutable_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/mutable/mutabletest"
)

// libtorrent runs testdata/lt_dht.py with Debian's python3-libtorrent (an
// independent BEP 44 implementation) against the private DHT, or skips.
func libtorrent(t *testing.T, args ...string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("interop with libtorrent takes seconds")
	}
	if exec.Command("/usr/bin/python3", "-c", "import libtorrent").Run() != nil {
		t.Skip("python3-libtorrent not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"testdata/lt_dht.py"}, args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lt_dht.py %v: %v (output %q, stderr %q)", args[0], err, out, stderr.Bytes())
	}
	return out
}

func TestInteropLibtorrent(t *testing.T) {
	nodes := mutabletest.StartNodes(t, 4)
	boot := nodes[0].Addr().String()

	t.Run("libtorrent gets Hearth's item", func(t *testing.T) {
		it := sign(t, key(20), "chan", 5, 0x5a)
		put(t, nodes[1], it)
		var got struct {
			Seq  int64
			Ih   string
			Sig  string
			Auth bool
		}
		out := libtorrent(t, "get", boot, hex.EncodeToString(it.Key[:]), "chan")
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("libtorrent output %q: %v", out, err)
		}
		// libtorrent reports only items whose signature it verified.
		if want := (hex.EncodeToString([]byte{0x5a}) + strings.Repeat("00", 19)); got.Seq != 5 || got.Ih != want || got.Sig != hex.EncodeToString(it.Sig[:]) {
			t.Errorf("libtorrent got %+v, want seq 5, ih %s, our signature", got, want)
		}
	})

	t.Run("Hearth gets libtorrent's item", func(t *testing.T) {
		seed := bytes.Repeat([]byte{21}, ed25519.SeedSize)
		pub := pubOf(ed25519.NewKeyFromSeed(seed))
		libtorrent(t, "put", boot, hex.EncodeToString(seed), hex.EncodeToString(pub[:]), "chan", "hello from libtorrent")
		got, err := mutable.Get(ctxT(t), nodes[3], pub, []byte("chan"), 0)
		if err != nil {
			t.Fatalf("Get = %v", err)
		}
		if want := "21:hello from libtorrent"; string(got.Value) != want || got.Seq < 1 {
			t.Errorf("Get = seq %d %q, want seq ≥ 1 %q", got.Seq, got.Value, want)
		}
	})
}
