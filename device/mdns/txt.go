package mdns

import (
	"fmt"
	"sort"
	"strings"
)

// TXT keys Hearth sets itself; SetTXT refuses them.
const (
	KeyID      = "id"    // stable device id
	KeyName    = "name"  // friendly name as configured (before any " (2)")
	KeyModel   = "model" // device model
	KeyVersion = "ver"   // Hearth version
	KeyAPI     = "api"   // path of the HTTP API: /api/v1
	KeyRPC     = "rpc"   // path of the Transmission RPC: /transmission/rpc
	KeyPair    = "pair"  // "1" while pairing is open, else "0"
)

// Paths advertised in the api and rpc keys.
const (
	APIPath = "/api/v1"
	RPCPath = "/transmission/rpc"
)

var reservedKeys = map[string]bool{
	KeyID: true, KeyName: true, KeyModel: true, KeyVersion: true, KeyAPI: true, KeyRPC: true, KeyPair: true,
	"txtvers": true, "path": true,
}

// txtInfo is what the _hearth._tcp TXT record carries.
type txtInfo struct {
	id, name, model, version string
	pairing                  bool
	extra                    map[string]string
}

// records returns the raw "key=value" strings, Hearth's keys first, extra
// keys sorted, and checks DNS-SD's size limits.
func (t txtInfo) records() ([]string, error) {
	pair := "0"
	if t.pairing {
		pair = "1"
	}
	recs := []string{
		KeyID + "=" + t.id,
		KeyName + "=" + t.name,
		KeyModel + "=" + t.model,
		KeyVersion + "=" + t.version,
		KeyAPI + "=" + APIPath,
		KeyRPC + "=" + RPCPath,
		KeyPair + "=" + pair,
	}
	keys := make([]string, 0, len(t.extra))
	for k := range t.extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		recs = append(recs, k+"="+t.extra[k])
	}
	total := 0
	for _, r := range recs {
		if len(r) > maxTXTEntry {
			k, _, _ := strings.Cut(r, "=")
			return nil, fmt.Errorf("%w: TXT %s is %d bytes, at most %d with its key", ErrConfig, k, len(r), maxTXTEntry)
		}
		total += 1 + len(r)
	}
	if total > maxTXTTotal {
		return nil, fmt.Errorf("%w: TXT record is %d bytes, at most %d", ErrConfig, total, maxTXTTotal)
	}
	return recs, nil
}

// checkExtra validates keys a caller adds: printable ASCII without "=",
// at most 9 bytes as RFC 6763 recommends, not one of Hearth's own.
func checkExtra(extra map[string]string) error {
	for k := range extra {
		if k == "" || len(k) > 9 {
			return fmt.Errorf("%w: TXT key %q: want 1 to 9 characters", ErrConfig, k)
		}
		for i := 0; i < len(k); i++ {
			if k[i] < 0x21 || k[i] > 0x7e || k[i] == '=' {
				return fmt.Errorf("%w: TXT key %q: want printable ASCII without '='", ErrConfig, k)
			}
		}
		if reservedKeys[strings.ToLower(k)] {
			return fmt.Errorf("%w: TXT key %q is set by Hearth itself", ErrConfig, k)
		}
	}
	return nil
}

// parseTXT turns TXT strings (raw, unescaped) into a map. Keys are
// case-insensitive (RFC 6763 6.4): they are lowercased, and the first of
// two equal keys wins. A key without "=" maps to "".
func parseTXT(recs []string) map[string]string {
	m := make(map[string]string, len(recs))
	for _, r := range recs {
		k, v, _ := strings.Cut(r, "=")
		k = strings.ToLower(k)
		if k == "" {
			continue
		}
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return m
}
