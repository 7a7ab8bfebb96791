package mutable

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/krpc"
	"github.com/anacrolix/torrent/bencode"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBEP44Vectors checks the test vectors published in BEP 44
// ("Test Vectors" section). The BEP gives the private key in its
// expanded (hashed) form, which crypto/ed25519 cannot sign with, so the
// vectors check the signed buffer, the target and that the published
// signatures verify; signing itself is covered by round trips below.
func TestBEP44Vectors(t *testing.T) {
	pub := unhex(t, "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548")
	tests := []struct {
		name   string
		salt   string
		buffer string
		target string
		sig    string
	}{
		{
			name:   "mutable",
			buffer: "3:seqi1e1:v12:Hello World!",
			target: "4a533d47ec9c7d95b1ad75f576cffc641853b750",
			sig: `305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff
			      1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01`,
		},
		{
			name:   "mutable with salt",
			salt:   "foobar",
			buffer: "4:salt6:foobar3:seqi1e1:v12:Hello World!",
			target: "411eba73b6f087ca51a3795d9c8c938d365e32c1",
			sig: `6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d
			      df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := Item{Salt: []byte(tt.salt), Seq: 1, Value: []byte("12:Hello World!")}
			copy(it.Key[:], pub)
			copy(it.Sig[:], unhex(t, tt.sig))
			if got := string(SignedBuffer(it.Salt, it.Seq, it.Value)); got != tt.buffer {
				t.Errorf("SignedBuffer = %q, want %q", got, tt.buffer)
			}
			if got := it.Target(); hex.EncodeToString(got[:]) != tt.target {
				t.Errorf("Target = %x, want %s", got, tt.target)
			}
			if err := it.Verify(); err != nil {
				t.Errorf("Verify = %v, want nil", err)
			}
			// anacrolix's implementation agrees (it is the DHT node's).
			if !bep44.Verify(pub, it.Salt, it.Seq, it.Value, it.Sig[:]) {
				t.Errorf("bep44.Verify = false, want true")
			}
			// The same signature must not verify anything else.
			other := it
			other.Seq = 2
			if err := other.Verify(); !errors.Is(err, ErrBadSignature) {
				t.Errorf("Verify with seq 2 = %v, want ErrBadSignature", err)
			}
		})
	}
	// Immutable vector: the target is the SHA-1 of the value, which is
	// what anacrolix's store keys immutable items by.
	imm := &bep44.Item{V: "Hello World!"}
	if got := imm.Target(); hex.EncodeToString(got[:]) != "e5f96f6f38320f0f33959cb4d3d656452117aadb" {
		t.Errorf("immutable target = %x, want e5f96f6f…", got)
	}
}

func testKey(t testing.TB, seed byte) ed25519.PrivateKey {
	t.Helper()
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestSignVerify(t *testing.T) {
	priv := testKey(t, 1)
	value := InfohashValue([20]byte{1, 2, 3})
	for _, salt := range [][]byte{nil, []byte("photos"), bytes.Repeat([]byte{0xff}, MaxSaltSize)} {
		it, err := Sign(priv, salt, 7, value)
		if err != nil {
			t.Fatalf("Sign(salt %q) = %v", salt, err)
		}
		if err := it.Verify(); err != nil {
			t.Errorf("Verify(salt %q) = %v, want nil", salt, err)
		}
		if !bep44.Verify(it.Key[:], it.Salt, it.Seq, it.Value, it.Sig[:]) {
			t.Errorf("bep44.Verify(salt %q) = false, want true", salt)
		}
		if it.Target() != bep44.MakeMutableTarget(it.Key, salt) {
			t.Errorf("Target(salt %q) differs from bep44.MakeMutableTarget", salt)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	priv := testKey(t, 2)
	good, err := Sign(priv, []byte("s"), 5, InfohashValue([20]byte{9}))
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), MaxValueSize)
	tests := []struct {
		name   string
		change func(*Item)
		want   error
	}{
		{"tampered value", func(it *Item) { it.Value = InfohashValue([20]byte{8}) }, ErrBadSignature},
		{"replayed with higher seq", func(it *Item) { it.Seq = 6 }, ErrBadSignature},
		{"other salt", func(it *Item) { it.Salt = []byte("t") }, ErrBadSignature},
		{"no salt", func(it *Item) { it.Salt = nil }, ErrBadSignature},
		{"forged key", func(it *Item) { copy(it.Key[:], testKey(t, 3).Public().(ed25519.PublicKey)) }, ErrBadSignature},
		{"zero key", func(it *Item) { it.Key = [32]byte{} }, ErrBadSignature},
		{"flipped sig bit", func(it *Item) { it.Sig[10] ^= 1 }, ErrBadSignature},
		{"zero sig", func(it *Item) { it.Sig = [64]byte{} }, ErrBadSignature},
		{"oversized value", func(it *Item) { it.Value = append([]byte("1000:"), big...) }, ErrValueTooBig},
		{"oversized salt", func(it *Item) { it.Salt = make([]byte, MaxSaltSize+1) }, ErrSaltTooBig},
		{"negative seq", func(it *Item) { it.Seq = -1 }, ErrBadSeq},
		{"not bencode", func(it *Item) { it.Value = []byte("hello") }, ErrBadValue},
		{"trailing bytes", func(it *Item) { it.Value = append(bytes.Clone(it.Value), 'x') }, ErrBadValue},
		{"empty value", func(it *Item) { it.Value = nil }, ErrBadValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it := good
			it.Salt = bytes.Clone(good.Salt)
			it.Value = bytes.Clone(good.Value)
			tt.change(&it)
			if err := it.Verify(); !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := good.Verify(); err != nil {
		t.Errorf("Verify(untouched) = %v, want nil", err)
	}
}

func TestSignRejects(t *testing.T) {
	priv := testKey(t, 4)
	tests := []struct {
		name  string
		priv  ed25519.PrivateKey
		salt  []byte
		seq   int64
		value []byte
		want  error
	}{
		{"short key", priv[:32], nil, 1, []byte("i1e"), ErrBadKey},
		{"negative seq", priv, nil, -5, []byte("i1e"), ErrBadSeq},
		{"big salt", priv, make([]byte, 65), 1, []byte("i1e"), ErrSaltTooBig},
		{"big value", priv, nil, 1, append([]byte("999:"), make([]byte, 999)...), ErrValueTooBig},
		{"not bencode", priv, nil, 1, []byte("x"), ErrBadValue},
		{"unsorted dict", priv, nil, 1, []byte("d1:bi1e1:ai2ee"), ErrBadValue},
		{"non-canonical int", priv, nil, 1, []byte("i01e"), ErrBadValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Sign(tt.priv, tt.salt, tt.seq, tt.value); !errors.Is(err, tt.want) {
				t.Errorf("Sign = %v, want %v", err, tt.want)
			}
		})
	}
	// Exactly at the limits works.
	v := append([]byte("996:"), make([]byte, 996)...)
	if len(v) != MaxValueSize {
		t.Fatalf("test value is %d bytes", len(v))
	}
	if _, err := Sign(priv, make([]byte, MaxSaltSize), 0, v); err != nil {
		t.Errorf("Sign at the limits = %v, want nil", err)
	}
}

func TestInfohashValue(t *testing.T) {
	ih := [20]byte{0xde, 0xad, 0xbe, 0xef, 19: 0x01}
	v := InfohashValue(ih)
	if want := "d2:ih20:" + string(ih[:]) + "e"; string(v) != want {
		t.Fatalf("InfohashValue = %q, want %q", v, want)
	}
	got, err := ParseInfohashValue(v)
	if err != nil || got != ih {
		t.Fatalf("ParseInfohashValue(InfohashValue(ih)) = %x, %v; want %x, nil", got, err, ih)
	}
	// The DHT library's BEP 46 struct encodes to the same bytes.
	if lib, err := bencode.Marshal(krpc.Bep46Payload{Ih: ih}); err != nil || !bytes.Equal(lib, v) {
		t.Errorf("bencode(krpc.Bep46Payload) = %q, %v; want %q", lib, err, v)
	}
	bad := []string{
		"",
		"de",
		"d2:ih19:" + strings.Repeat("a", 19) + "e",
		"d2:ih21:" + strings.Repeat("a", 21) + "e",
		"d2:ih20:" + strings.Repeat("a", 20) + "1:xi1ee",
		"d1:a1:b2:ih20:" + strings.Repeat("a", 20) + "e",
		"d2:IH20:" + strings.Repeat("a", 20) + "e",
		"l2:ih20:" + strings.Repeat("a", 20) + "e",
		"d2:ih20:" + strings.Repeat("a", 20) + "x",
		"20:" + strings.Repeat("a", 20),
	}
	for _, b := range bad {
		if _, err := ParseInfohashValue([]byte(b)); !errors.Is(err, ErrNotInfohash) {
			t.Errorf("ParseInfohashValue(%q) = %v, want ErrNotInfohash", b, err)
		}
	}
}

func FuzzParseInfohashValue(f *testing.F) {
	f.Add(InfohashValue([20]byte{1}))
	f.Add([]byte("d2:ih20:aaaaaaaaaaaaaaaaaaaae"))
	f.Add([]byte("de"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ih, err := ParseInfohashValue(b)
		if err != nil {
			return
		}
		if !bytes.Equal(InfohashValue(ih), b) {
			t.Fatalf("accepted %q, which is not InfohashValue(%x)", b, ih)
		}
	})
}
