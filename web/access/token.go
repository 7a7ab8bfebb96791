package access

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// A token is "hth_" followed by 256 random bits in unpadded base64url (43
// characters). The prefix lets a password field tell a token from a
// password without trying the slow hash, and lets secret scanners find
// leaked tokens.
const (
	tokenPrefix = "hth_"
	tokenBytes  = 32
	tokenLen    = len(tokenPrefix) + 43
)

// newToken returns a fresh token and the SHA-256 that is stored instead of it.
func newToken() (string, [32]byte) {
	var b [tokenBytes]byte
	rand.Read(b[:])
	tok := tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return tok, sha256.Sum256([]byte(tok))
}

// LooksLikeToken reports whether s has the shape of a pairing token. It
// does not say whether the token is valid.
func LooksLikeToken(s string) bool {
	_, ok := parseToken(s)
	return ok
}

// parseToken checks the shape of a token and returns its hash.
func parseToken(s string) ([32]byte, bool) {
	if len(s) != tokenLen || !strings.HasPrefix(s, tokenPrefix) {
		return [32]byte{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s[len(tokenPrefix):])
	if err != nil || len(b) != tokenBytes {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(s)), true
}
