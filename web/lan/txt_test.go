package lan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/mutable"
)

func heldMap(items ...mutable.Item) map[[20]byte]mutable.Item {
	m := map[[20]byte]mutable.Item{}
	for _, it := range items {
		m[it.Target()] = it
	}
	return m
}

func TestTagMatching(t *testing.T) {
	a, b := newChannel(t, ""), newChannel(t, "salted")
	const idX, idY = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	txt := txtFor(idX, heldMap(a.item(t, 1), b.item(t, 7)))
	tags := parseTags(txt[KeyChannels])
	tests := []struct {
		name   string
		target [20]byte
		id     string
		want   bool
	}{
		{"held channel, advertiser's id", a.target(), idX, true},
		{"salted held channel", b.target(), idX, true},
		{"held channel, another device's id", a.target(), idY, false},
		{"channel not held", newChannel(t, "").target(), idX, false},
		{"same key, other salt", newChannel(t, "x").target(), idX, false},
	}
	for _, tt := range tests {
		if got := tags.has(tt.target, tt.id); got != tt.want {
			t.Errorf("%s: has = %v, want %v", tt.name, got, tt.want)
		}
	}
	if len(tags.tags) != 2 || tags.all {
		t.Errorf("parseTags(%q) = %d tags (all %v), want 2", txt[KeyChannels], len(tags.tags), tags.all)
	}
	// The same channel on two devices: unrelated tags.
	if tag(a.target(), idX) == tag(a.target(), idY) {
		t.Errorf("tag(a, %s) == tag(a, %s): two devices' tags for one channel must differ", idX, idY)
	}
	// The TXT carries neither keys, targets nor infohashes.
	for _, it := range []mutable.Item{a.item(t, 1), b.item(t, 7)} {
		tg := it.Target()
		for _, secret := range [][]byte{it.Key[:], tg[:], it.Value, it.Salt} {
			for _, v := range txt {
				dec, _ := b64.DecodeString(v)
				if len(secret) > 0 && (strings.Contains(v, string(secret)) || strings.Contains(string(dec), string(secret[:min(len(secret), 6)]))) {
					t.Errorf("TXT %v reveals %x", txt, secret)
				}
			}
		}
	}
}

func TestTXTFor(t *testing.T) {
	const id = "d1"
	if got := txtFor(id, nil); len(got) != 0 {
		t.Errorf("txtFor(no channels) = %v, want no keys", got)
	}
	var items []mutable.Item
	for i := 0; i < maxTags+1; i++ {
		items = append(items, newChannel(t, "").item(t, int64(i)))
	}
	for _, n := range []int{1, 2, maxTags} {
		txt := txtFor(id, heldMap(items[:n]...))
		if l := len(KeyChannels) + 1 + len(txt[KeyChannels]); l > 255 {
			t.Errorf("%d channels: ch entry is %d bytes, over DNS-SD's 255", n, l)
		}
		if got := len(parseTags(txt[KeyChannels]).tags); got != n {
			t.Errorf("%d channels: %d tags parsed back", n, got)
		}
		for _, it := range items[:n] {
			if !parseTags(txt[KeyChannels]).has(it.Target(), id) {
				t.Errorf("%d channels: tag of %x missing", n, it.Target())
			}
		}
	}
	if maxTags != 31 {
		t.Errorf("maxTags = %d, want 31 (6-byte tags in one 255-byte TXT string)", maxTags)
	}
	over := txtFor(id, heldMap(items...))
	if over[KeyChannels] != AllChannels || !parseTags(over[KeyChannels]).has(newChannel(t, "").target(), id) {
		t.Errorf("txtFor(%d channels)[ch] = %q, want %q (ask me about any channel)", len(items), over[KeyChannels], AllChannels)
	}

	// The stamp changes with a version or the set, not otherwise.
	c := newChannel(t, "")
	v1, v2 := c.item(t, 1), c.item(t, 2)
	s1 := txtFor(id, heldMap(v1, items[0]))[KeyStamp]
	if s := txtFor(id, heldMap(items[0], v1))[KeyStamp]; s != s1 {
		t.Errorf("stamp depends on map order: %q, %q", s, s1)
	}
	if s := txtFor(id, heldMap(v2, items[0]))[KeyStamp]; s == s1 {
		t.Errorf("stamp %q unchanged after a new version", s)
	}
	if s := txtFor(id, heldMap(v1))[KeyStamp]; s == s1 {
		t.Errorf("stamp %q unchanged after a channel left", s)
	}
	if s := txtFor("d2", heldMap(v1, items[0]))[KeyStamp]; s == s1 {
		t.Errorf("stamp %q is the same on another device", s)
	}
}

// TestTXTFitsRecord: the keys with the most tags pass device/mdns's own
// checks next to a record with the longest name and id. mdns.Start checks
// the config before anything else; the interface named does not exist,
// so it fails right after that and sends nothing.
func TestTXTFitsRecord(t *testing.T) {
	var items []mutable.Item
	for i := 0; i < maxTags; i++ {
		items = append(items, newChannel(t, "").item(t, 1))
	}
	id := strings.Repeat("f", 64)
	txt := txtFor(id, heldMap(items...))
	cfg := mdns.Config{ID: id, Name: strings.Repeat("N", 63), Model: strings.Repeat("M", 60), Version: "1.2.3-rc.4+abcdef",
		Port: 9091, Interfaces: []string{"hearth-nope0"}, TXT: txt}
	_, err := mdns.Start(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "no network interface") {
		t.Fatalf("mdns.Start with %d tags = %v, want only the missing interface refused", maxTags, err)
	}
	// And the check is real: a record over the limit is refused.
	cfg.TXT = map[string]string{"ch": strings.Repeat("x", 300)}
	if _, err := mdns.Start(context.Background(), cfg, nil); !errors.Is(err, mdns.ErrConfig) || strings.Contains(err.Error(), "no network interface") {
		t.Errorf("mdns.Start with a 300-byte TXT value = %v, want a size error", err)
	}
}

func TestParseTagsMalformed(t *testing.T) {
	for _, v := range []string{
		"",
		"!!!!",
		"AAAAAAA",      // 5 bytes: not a whole tag
		"AAAAAAAA====", // padding is not part of the encoding
		strings.Repeat("A", 8*(maxTags+1)),
		"**",
	} {
		if s := parseTags(v); !s.empty() {
			t.Errorf("parseTags(%q) = %d tags (all %v), want none", v, len(s.tags), s.all)
		}
	}
}

func FuzzParseTags(f *testing.F) {
	f.Add("*")
	f.Add(txtFor("x", heldMap(newChannel(f, "").item(f, 1)))[KeyChannels])
	f.Fuzz(func(t *testing.T, v string) {
		s := parseTags(v)
		if len(s.tags) > maxTags {
			t.Errorf("parseTags(%q) = %d tags, more than %d", v, len(s.tags), maxTags)
		}
	})
}
