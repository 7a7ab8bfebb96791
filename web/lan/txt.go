package lan

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/hearth-media/hearth/engine/mutable"
)

// TXT keys of the _hearth._tcp record that this package sets.
const (
	// KeyChannels lists the tags of the channels the device holds, or
	// AllChannels.
	KeyChannels = "ch"
	// KeyStamp changes whenever a held channel gets a new version (or the
	// set changes): neighbours fetch again when they see it change.
	KeyStamp = "chv"
)

// AllChannels is the value of KeyChannels when the tags do not fit: "this
// device holds channels; ask it".
const AllChannels = "*"

const (
	// tagSize is the length of a tag. A false match costs one request
	// answered with 404 (chance 2^-48 per neighbour and channel); 6 bytes
	// let 31 tags fit in one TXT string.
	tagSize = 6
	// maxTags is how many tags one TXT string carries: "ch=" plus the
	// base64 of the tags within DNS-SD's 255 bytes per string.
	maxTags = (255 - len(KeyChannels) - 1) * 3 / 4 / tagSize
	// stampSize bytes of the stamp, base64: 6 characters.
	stampSize = 4
)

// tagDomain and queryDomain separate the HMAC inputs of tags and query
// tokens from each other and from any other use of the target as a key.
const (
	tagDomain   = "hearth lan channel tag v1\x00"
	queryDomain = "hearth lan channel query v1\x00"
)

// b64 encodes tags and stamps: URL-safe, no padding (TXT values are
// printable ASCII, and "=" inside a value is legal but confusing).
var b64 = base64.RawURLEncoding

// tag is what a device with id advertises for a channel target: the
// first tagSize bytes of HMAC-SHA256 keyed with the target, over the
// device id. Only a device that knows the target (that is, the channel's
// public key and salt) can compute it; it differs from device to device,
// so two devices holding the same channel look unrelated to everyone
// else.
func tag(target [20]byte, id string) [tagSize]byte {
	h := hmac.New(sha256.New, target[:])
	h.Write([]byte(tagDomain))
	h.Write([]byte(id))
	return [tagSize]byte(h.Sum(nil))
}

// queryToken is what a device asks the device with id for, to get the
// item of target: HMAC-SHA256 keyed with the target over the asked
// device's id. Only a device that knows the target can make it; the asked
// device finds the target among those it holds, and one that does not
// hold it learns nothing (a target in the request would tell it the
// channel). It is not the advertised tag, which everyone sees.
func queryToken(target [20]byte, id string) [32]byte {
	return askToken(target, queryDomain, id)
}

// askToken is HMAC-SHA256 keyed with what is asked about (a channel's
// target, a torrent's infohash) over domain and the asked device's id:
// a question only a device that knows the key can make, good for one
// device only. The domains keep a channel query and a torrent query for
// the same 20 bytes apart.
func askToken(key [20]byte, domain, id string) [32]byte {
	h := hmac.New(sha256.New, key[:])
	h.Write([]byte(domain))
	h.Write([]byte(id))
	return [32]byte(h.Sum(nil))
}

// txtFor returns the TXT keys for the held items of device id: the sorted
// tags (or AllChannels when there are more than fit), and the stamp. No
// items: no keys.
func txtFor(id string, held map[[20]byte]mutable.Item) map[string]string {
	if len(held) == 0 {
		return map[string]string{}
	}
	targets := make([][20]byte, 0, len(held))
	for t := range held {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, func(a, b [20]byte) int { return strings.Compare(string(a[:]), string(b[:])) })

	st := sha256.New()
	st.Write([]byte("hearth lan stamp v1\x00"))
	st.Write([]byte(id))
	var seq [8]byte
	for _, t := range targets {
		st.Write(t[:])
		binary.BigEndian.PutUint64(seq[:], uint64(held[t].Seq))
		st.Write(seq[:])
	}
	m := map[string]string{KeyStamp: b64.EncodeToString(st.Sum(nil)[:stampSize])}

	if len(targets) > maxTags {
		m[KeyChannels] = AllChannels
		return m
	}
	tags := make([][tagSize]byte, len(targets))
	for i, t := range targets {
		tags[i] = tag(t, id)
	}
	// Sorted tags: the order says nothing about when a channel was added.
	slices.SortFunc(tags, func(a, b [tagSize]byte) int { return strings.Compare(string(a[:]), string(b[:])) })
	b := make([]byte, 0, len(tags)*tagSize)
	for _, t := range tags {
		b = append(b, t[:]...)
	}
	m[KeyChannels] = b64.EncodeToString(b)
	return m
}

// tagSet is a neighbour's advertised channels.
type tagSet struct {
	all  bool // AllChannels: ask it about any target
	tags map[[tagSize]byte]bool
}

// parseTags reads a KeyChannels value. Anything malformed (bad base64, a
// length that is not a multiple of tagSize) is an empty set: a neighbour
// that cannot say what it holds is not asked.
func parseTags(v string) tagSet {
	if v == AllChannels {
		return tagSet{all: true}
	}
	b, err := b64.DecodeString(v)
	if err != nil || len(b)%tagSize != 0 || len(b)/tagSize > maxTags {
		return tagSet{}
	}
	s := tagSet{tags: make(map[[tagSize]byte]bool, len(b)/tagSize)}
	for i := 0; i < len(b); i += tagSize {
		s.tags[[tagSize]byte(b[i:i+tagSize])] = true
	}
	return s
}

// has reports whether the neighbour with id advertises target.
func (s tagSet) has(target [20]byte, id string) bool {
	return s.all || s.tags[tag(target, id)]
}

// empty reports whether the neighbour advertises no channel.
func (s tagSet) empty() bool { return !s.all && len(s.tags) == 0 }
