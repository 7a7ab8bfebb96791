package mutable

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha1"
	"errors"
	"fmt"
	"strconv"

	"github.com/anacrolix/torrent/bencode"
)

// Limits from BEP 44.
const (
	MaxValueSize = 1000 // bytes of the bencoded value
	MaxSaltSize  = 64
)

// Errors of item checks. Every error Verify and Sign return wraps one of
// them.
var (
	ErrBadSignature = errors.New("mutable: bad signature")
	ErrValueTooBig  = errors.New("mutable: value over 1000 bytes")
	ErrSaltTooBig   = errors.New("mutable: salt over 64 bytes")
	ErrBadValue     = errors.New("mutable: value is not one bencoded value")
	ErrBadSeq       = errors.New("mutable: negative sequence number")
	ErrBadKey       = errors.New("mutable: not an ed25519 key")
)

// Item is a signed BEP 44 mutable item. The signature covers Salt, Seq
// and Value exactly as they are here, so an Item can be stored and put
// again unchanged by anyone (BEP 44 allows it); only the key's owner can
// make a new one.
type Item struct {
	Key   [32]byte // ed25519 public key
	Salt  []byte   // optional, ≤ MaxSaltSize; part of the target
	Seq   int64    // grows with every new version; never negative here
	Value []byte   // one bencoded value, ≤ MaxValueSize bytes
	Sig   [64]byte // ed25519 signature of SignedBuffer
}

// Target is the DHT key of the items of pub and salt: SHA-1 of the key
// followed by the salt.
func Target(pub [32]byte, salt []byte) [20]byte {
	b := make([]byte, 0, 32+len(salt))
	b = append(b, pub[:]...)
	b = append(b, salt...)
	return sha1.Sum(b)
}

// Target is the DHT key the item is stored under.
func (it Item) Target() [20]byte { return Target(it.Key, it.Salt) }

// SignedBuffer is what BEP 44 signs: "4:salt<len>:<salt>" when the salt
// is not empty, then "3:seqi<seq>e1:v" and the bencoded value as is.
func SignedBuffer(salt []byte, seq int64, value []byte) []byte {
	b := make([]byte, 0, 16+len(salt)+24+len(value))
	if len(salt) > 0 {
		b = append(b, "4:salt"...)
		b = strconv.AppendInt(b, int64(len(salt)), 10)
		b = append(b, ':')
		b = append(b, salt...)
	}
	b = append(b, "3:seqi"...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, "e1:v"...)
	return append(b, value...)
}

// Sign makes an item of value (one bencoded value in canonical form,
// e.g. from InfohashValue or bencode.Marshal) at sequence number seq.
// Canonical form matters: DHT nodes that decode and re-encode the value
// would otherwise store bytes the signature does not cover.
func Sign(priv ed25519.PrivateKey, salt []byte, seq int64, value []byte) (Item, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Item{}, fmt.Errorf("%w: private key of %d bytes", ErrBadKey, len(priv))
	}
	it := Item{Salt: bytes.Clone(salt), Seq: seq, Value: bytes.Clone(value)}
	copy(it.Key[:], priv.Public().(ed25519.PublicKey))
	if err := it.checkFields(); err != nil {
		return Item{}, err
	}
	var v any
	if err := bencode.Unmarshal(value, &v); err != nil {
		return Item{}, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if canon, err := bencode.Marshal(v); err != nil || !bytes.Equal(canon, value) {
		return Item{}, fmt.Errorf("%w: not in canonical form", ErrBadValue)
	}
	copy(it.Sig[:], ed25519.Sign(priv, SignedBuffer(it.Salt, it.Seq, it.Value)))
	return it, nil
}

// Verify checks the item as BEP 44 asks of a node that receives it:
// sizes, a well-formed value, a non-negative seq and the signature.
func (it Item) Verify() error {
	if err := it.checkFields(); err != nil {
		return err
	}
	if err := wellFormed(it.Value); err != nil {
		return err
	}
	if !ed25519.Verify(it.Key[:], SignedBuffer(it.Salt, it.Seq, it.Value), it.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

func (it Item) checkFields() error {
	switch {
	case len(it.Salt) > MaxSaltSize:
		return fmt.Errorf("%w: %d bytes", ErrSaltTooBig, len(it.Salt))
	case len(it.Value) > MaxValueSize:
		return fmt.Errorf("%w: %d bytes", ErrValueTooBig, len(it.Value))
	case it.Seq < 0:
		return fmt.Errorf("%w: %d", ErrBadSeq, it.Seq)
	}
	return nil
}

// wellFormed reports whether b is exactly one bencoded value.
func wellFormed(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrBadValue)
	}
	var v any
	if err := bencode.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	return nil
}

// BEP 46 values: {"ih": <20-byte infohash>}.

const ihPrefix = "d2:ih20:"

// ErrNotInfohash is returned by ParseInfohashValue.
var ErrNotInfohash = errors.New("mutable: value is not a BEP 46 infohash")

// InfohashValue is the bencoded BEP 46 value pointing at a torrent.
func InfohashValue(ih [20]byte) []byte {
	b := make([]byte, 0, len(ihPrefix)+20+1)
	b = append(b, ihPrefix...)
	b = append(b, ih[:]...)
	return append(b, 'e')
}

// ParseInfohashValue reads a BEP 46 value. It is strict: only the exact
// canonical encoding of a dictionary holding one 20-byte "ih" is
// accepted (what InfohashValue makes, and what libtorrent and anacrolix
// put).
func ParseInfohashValue(v []byte) ([20]byte, error) {
	var ih [20]byte
	if len(v) != len(ihPrefix)+20+1 || string(v[:len(ihPrefix)]) != ihPrefix || v[len(v)-1] != 'e' {
		return ih, fmt.Errorf("%w: %d bytes %.40q", ErrNotInfohash, len(v), v)
	}
	copy(ih[:], v[len(ihPrefix):])
	return ih, nil
}
