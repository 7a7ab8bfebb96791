package lan

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hearth-media/hearth/engine/mutable"
)

// ItemsPath is where a device answers for the channels it holds:
// GET ItemsPath + 64 hex digits of the query token (queryToken of the
// channel's target and the asked device's id).
const ItemsPath = "/lan/v1/items/"

// maxResponse caps a neighbour's answer. The largest valid one (1000-byte
// value in base64, 64-byte salt in hex, key and signature) is under 2 KiB.
const maxResponse = 4 << 10

// wireItem is the JSON body of GET ItemsPath{token}: a BEP 44 item
// exactly as signed, and the port the device's BitTorrent engine takes
// peers on (the address is the one the request went to).
type wireItem struct {
	Key      string `json:"key"`              // ed25519 public key, 64 hex digits
	Salt     string `json:"salt"`             // hex, may be empty
	Seq      int64  `json:"seq"`              // BEP 44 sequence number
	Value    string `json:"value"`            // the bencoded value, standard base64
	Sig      string `json:"sig"`              // ed25519 signature, 128 hex digits
	PeerPort int    `json:"peerPort"`         // 0: no peer port to offer
	Target   string `json:"target,omitempty"` // the item's target, 40 hex digits
}

func toWire(it mutable.Item, peerPort int) wireItem {
	t := it.Target()
	return wireItem{
		Key:      hex.EncodeToString(it.Key[:]),
		Salt:     hex.EncodeToString(it.Salt),
		Seq:      it.Seq,
		Value:    base64.StdEncoding.EncodeToString(it.Value),
		Sig:      hex.EncodeToString(it.Sig[:]),
		PeerPort: peerPort,
		Target:   hex.EncodeToString(t[:]),
	}
}

// Errors of a neighbour's answer.
var errBadAnswer = errors.New("lan: bad answer from neighbour")

// decodeItem reads a neighbour's answer for target: one JSON object of
// known fields, at most maxResponse bytes, an item that verifies and is
// for target. The caller (the channel manager) checks it again against
// the subscription; this check keeps a hostile neighbour's junk (or an
// item for another channel) from going any further.
func decodeItem(r io.Reader, target [20]byte) (mutable.Item, int, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxResponse+1))
	if err != nil {
		return mutable.Item{}, 0, fmt.Errorf("read answer: %w", err)
	}
	if len(b) > maxResponse {
		return mutable.Item{}, 0, fmt.Errorf("%w: over %d bytes", errBadAnswer, maxResponse)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var w wireItem
	if err := dec.Decode(&w); err != nil {
		return mutable.Item{}, 0, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	if dec.More() {
		return mutable.Item{}, 0, fmt.Errorf("%w: data after the JSON object", errBadAnswer)
	}
	var it mutable.Item
	if err := hexInto(it.Key[:], w.Key, "key"); err != nil {
		return mutable.Item{}, 0, err
	}
	if err := hexInto(it.Sig[:], w.Sig, "sig"); err != nil {
		return mutable.Item{}, 0, err
	}
	if len(w.Salt) > 2*mutable.MaxSaltSize {
		return mutable.Item{}, 0, fmt.Errorf("%w: salt of %d hex digits", errBadAnswer, len(w.Salt))
	}
	if it.Salt, err = hex.DecodeString(w.Salt); err != nil {
		return mutable.Item{}, 0, fmt.Errorf("%w: salt: %v", errBadAnswer, err)
	}
	if len(it.Salt) == 0 {
		it.Salt = nil
	}
	if len(w.Value) > base64.StdEncoding.EncodedLen(mutable.MaxValueSize) {
		return mutable.Item{}, 0, fmt.Errorf("%w: value of %d base64 characters", errBadAnswer, len(w.Value))
	}
	if it.Value, err = base64.StdEncoding.Strict().DecodeString(w.Value); err != nil {
		return mutable.Item{}, 0, fmt.Errorf("%w: value: %v", errBadAnswer, err)
	}
	it.Seq = w.Seq
	if w.PeerPort < 0 || w.PeerPort > 65535 {
		return mutable.Item{}, 0, fmt.Errorf("%w: peer port %d", errBadAnswer, w.PeerPort)
	}
	if w.Target != "" && w.Target != hex.EncodeToString(target[:]) {
		return mutable.Item{}, 0, fmt.Errorf("%w: answer for target %.40s, asked for %x", errBadAnswer, w.Target, target)
	}
	if it.Target() != target {
		return mutable.Item{}, 0, fmt.Errorf("%w: item for another channel (key %x)", errBadAnswer, it.Key[:8])
	}
	if err := it.Verify(); err != nil {
		return mutable.Item{}, 0, fmt.Errorf("%w: %v", errBadAnswer, err)
	}
	return it, w.PeerPort, nil
}

func hexInto(dst []byte, s, what string) error {
	if len(s) != 2*len(dst) {
		return fmt.Errorf("%w: %s of %d hex digits, want %d", errBadAnswer, what, len(s), 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("%w: %s: %v", errBadAnswer, what, err)
	}
	return nil
}

// parseToken reads 64 lowercase hex digits.
func parseToken(s string) ([32]byte, bool) {
	var t [32]byte
	if len(s) != 64 {
		return t, false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return t, false
		}
	}
	_, err := hex.Decode(t[:], []byte(s))
	return t, err == nil
}
