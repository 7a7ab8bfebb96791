package channel

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/mutable"
)

func newKey(t testing.TB) (pub [32]byte, priv ed25519.PrivateKey) {
	t.Helper()
	p, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	copy(pub[:], p)
	return pub, priv
}

func sign(t testing.TB, priv ed25519.PrivateKey, salt []byte, seq int64, value []byte) mutable.Item {
	t.Helper()
	it, err := mutable.Sign(priv, salt, seq, value)
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func randomIH() [20]byte {
	var ih [20]byte
	rand.Read(ih[:])
	return ih
}

func TestCheckItem(t *testing.T) {
	pub, priv := newKey(t)
	_, other := newKey(t)
	held := sign(t, priv, nil, 5, mutable.InfohashValue(randomIH()))
	r := &subRec{PublicKey: pub, Item: toItemRec(held)}

	forged := sign(t, other, nil, 6, mutable.InfohashValue(randomIH()))
	forgedAsOurs := forged
	forgedAsOurs.Key = pub
	tampered := sign(t, priv, nil, 6, mutable.InfohashValue(randomIH()))
	tampered.Value = mutable.InfohashValue(randomIH())
	big := mutable.Item{Key: pub, Seq: 6, Value: append([]byte("1001:"), make([]byte, 1001)...)}
	copy(big.Sig[:], ed25519.Sign(priv, mutable.SignedBuffer(nil, big.Seq, big.Value)))
	salted := sign(t, priv, []byte("other"), 6, mutable.InfohashValue(randomIH()))

	tests := []struct {
		name string
		it   mutable.Item
		want string // "" = accepted
	}{
		{"newer", sign(t, priv, nil, 6, mutable.InfohashValue(randomIH())), ""},
		{"same item again", held, errSame.Error()},
		{"another key", forged, "another channel"},
		{"another salt", salted, "another channel"},
		{"forged signature", forgedAsOurs, "bad signature"},
		{"tampered value", tampered, "bad signature"},
		{"oversized value", big, "over 1000 bytes"},
		{"not an infohash", sign(t, priv, nil, 6, []byte("i42e")), "not a BEP 46 infohash"},
		{"older seq", sign(t, priv, nil, 4, mutable.InfohashValue(randomIH())), "replay"},
		{"same seq, other value", sign(t, priv, nil, 5, mutable.InfohashValue(randomIH())), "same seq"},
	}
	for _, tt := range tests {
		err := checkItem(r, tt.it)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: checkItem = %v, want accepted", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: checkItem = %v, want an error with %q", tt.name, err, tt.want)
		}
	}
}

// TestRejectItems offers bad items to a subscription the way a LAN
// neighbour would: each is refused with a log line and an error status,
// and nothing is written.
func TestRejectItems(t *testing.T) {
	n := startNode(t, "sub", nodeOptions{opts: func(o *Options) { o.FetchTimeout = time.Second }})
	ctx := context.Background()
	pub, priv := newKey(t)
	_, other := newKey(t)
	link := Link{PublicKey: pub, Name: "Holiday videos"}.String()
	sub, _, err := n.m.Subscribe(ctx, link, SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	forged := sign(t, other, nil, 1, mutable.InfohashValue(randomIH()))
	forged.Key = pub
	tampered := sign(t, priv, nil, 1, mutable.InfohashValue(randomIH()))
	tampered.Value = mutable.InfohashValue(randomIH())
	good := sign(t, priv, nil, 5, mutable.InfohashValue(randomIH()))

	offer := func(what string, it mutable.Item, want string) {
		t.Helper()
		err := n.m.Offer(it)
		var ie *engine.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("Offer(%s) = %v, want an input error with %q", what, err, want)
		}
		s, _ := n.m.Subscription(sub.ID)
		if !strings.Contains(s.LastReject, want) || s.State != StateError && s.State != StateLooking && s.State != StateFetching {
			t.Errorf("after Offer(%s): state %s, last reject %q; want an error with %q", what, s.State, s.LastReject, want)
		}
	}
	offer("forged", forged, "bad signature")
	offer("tampered", tampered, "bad signature")
	offer("not BEP 46", sign(t, priv, nil, 2, []byte("d1:xi1ee")), "not a BEP 46")
	if err := n.m.Offer(good); err != nil {
		t.Fatalf("Offer(good) = %v", err)
	}
	offer("replayed older seq", sign(t, priv, nil, 4, mutable.InfohashValue(randomIH())), "replay")
	offer("same seq, other value", sign(t, priv, nil, 5, mutable.InfohashValue(randomIH())), "same seq")
	if err := n.m.Offer(sign(t, priv, []byte("s"), 9, good.Value)); !errors.Is(err, ErrNotFound) {
		t.Errorf("Offer(item of another channel) = %v, want %v", err, ErrNotFound)
	}
	s := waitSub(t, n, sub.ID, 10*time.Second, "the good item", func(s Subscription) bool {
		return s.Latest == 5 && s.State == StateError && strings.Contains(s.Error, "fetch version 5")
	})
	if s.Version != 0 || s.TorrentID != 0 {
		t.Errorf("version %d, torrent %d; want nothing installed (nobody has version 5's data)", s.Version, s.TorrentID)
	}
	if l := n.eng.List(); len(l) != 0 {
		t.Errorf("engine has %d torrents, want none", len(l))
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("subscription folder has %d entries, want none", len(entries))
	}
}

// TestRejectVersion: a correctly signed item whose torrent is not a
// channel version (here a plain torrent with a top folder) is refused
// after its metadata is fetched, before any file is written, and not
// fetched again.
func TestRejectVersion(t *testing.T) {
	seeder := startNode(t, "seeder", nodeOptions{})
	plain := enginetest.MakeTorrent(t, seeder.eng.Settings().DownloadDir, "photos", 0, []enginetest.File{{Path: "a.jpg", Size: 100_000}})
	if _, _, err := seeder.eng.Add(context.Background(), engine.AddRequest{Metainfo: plain.Metainfo}); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, seeder.eng, plain.InfoHash, 20*time.Second, "seeding", enginetest.Complete)

	n := startNode(t, "sub", nodeOptions{})
	pub, priv := newKey(t)
	l := Link{PublicKey: pub, Name: "c", Peers: []string{"127.0.0.1:" + itoa(seeder.eng.Stats().PeerPort)}}
	sub, _, err := n.m.Subscribe(context.Background(), l.String(), SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.m.Offer(sign(t, priv, nil, 1, mutable.InfohashValue(metainfo.NewHashFromHex(plain.InfoHash)))); err != nil {
		t.Fatal(err)
	}
	s := waitSub(t, n, sub.ID, 20*time.Second, "the version's rejection", func(s Subscription) bool { return s.LastReject != "" })
	if !strings.Contains(s.LastReject, "version 1") || !strings.Contains(s.LastReject, `want "-"`) {
		t.Errorf("last reject = %q, want version 1 refused for its top folder", s.LastReject)
	}
	s = waitSub(t, n, sub.ID, 10*time.Second, "a check after the rejection", func(s Subscription) bool {
		return s.State == StateError && strings.Contains(s.Error, "was rejected")
	})
	if l := n.eng.List(); len(l) != 0 {
		t.Errorf("engine has %d torrents, want none", len(l))
	}
	if entries, _ := os.ReadDir(s.Dir); len(entries) != 0 {
		t.Errorf("subscription folder has %d entries, want none", len(entries))
	}
}
