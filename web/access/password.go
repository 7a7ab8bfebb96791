package access

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

const keyPassword = "access/password"

// KDFParams are Argon2id parameters. They are stored with each hash, so
// changing DefaultKDF later keeps old passwords working (and they are
// re-hashed with the new parameters at the next successful login).
type KDFParams struct {
	Time    uint32 `json:"t"`
	MemKiB  uint32 `json:"m"`
	Threads uint8  `json:"p"`
}

// DefaultKDF is Argon2id with 4 MiB and one pass: about 0.2 s on a 600 MHz
// MIPS router (estimated; measured numbers in docs/access.md), a few
// milliseconds on a NAS or PC. RFC 9106 asks for more memory, which a
// 64 MB router cannot spare for every login; the per-address and
// device-wide rate limits do the rest of the work against guessing, and
// the hash only matters if the store itself is stolen.
var DefaultKDF = KDFParams{Time: 1, MemKiB: 4 << 10, Threads: 1}

// Password rules.
const (
	MinPasswordLen = 8
	maxPasswordLen = 1024
	maxUserLen     = 64
	saltLen        = 16
	hashLen        = 32
	// verifiedTTL is how long a verified password is remembered (in this
	// process only), and maxVerified how many user/password pairs.
	verifiedTTL = 12 * time.Hour
	maxVerified = 8
)

// passwordRecord is the stored password.
type passwordRecord struct {
	User string    `json:"user"`
	Alg  string    `json:"alg"` // "argon2id"
	KDF  KDFParams `json:"kdf"`
	Salt []byte    `json:"salt"`
	Hash []byte    `json:"hash"`
	Set  time.Time `json:"set"`
}

func (p *passwordRecord) check() error {
	if p.Alg != "argon2id" || len(p.Salt) < 8 || len(p.Hash) != hashLen ||
		p.KDF.Time == 0 || p.KDF.Threads == 0 || p.KDF.MemKiB < 8*uint32(p.KDF.Threads) || p.KDF.MemKiB > 1<<20 || p.KDF.Time > 100 {
		return fmt.Errorf("%w: unusable password record", ErrInvalid)
	}
	return nil
}

func hashPassword(k KDFParams, password string, salt []byte) []byte {
	return argon2.IDKey([]byte(password), salt, k.Time, k.MemKiB, k.Threads, hashLen)
}

// CheckUser returns an error saying what is wrong with a user name.
func CheckUser(user string) error {
	switch {
	case user == "":
		return fmt.Errorf("%w: empty user name", ErrInvalid)
	case len(user) > maxUserLen:
		return fmt.Errorf("%w: user name longer than %d bytes", ErrInvalid, maxUserLen)
	case strings.Contains(user, ":"):
		return fmt.Errorf("%w: user name with a colon (HTTP Basic cannot carry it)", ErrInvalid)
	case !printable(user):
		return fmt.Errorf("%w: user name with control characters or bad UTF-8", ErrInvalid)
	}
	return nil
}

// CheckPassword returns an error saying what is wrong with a new password.
func CheckPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalid, MinPasswordLen)
	case len(password) > maxPasswordLen:
		return fmt.Errorf("%w: password longer than %d bytes", ErrInvalid, maxPasswordLen)
	case LooksLikeToken(password):
		return fmt.Errorf("%w: a pairing token cannot be a password", ErrInvalid)
	}
	return nil
}

// SetPassword sets (or replaces) the owner's user name and password.
// Logins cached for the old password stop working at once.
func (c *Controller) SetPassword(ctx context.Context, user, password string) error {
	if err := CheckUser(user); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	p := &passwordRecord{User: user, Alg: "argon2id", KDF: c.kdf, Salt: make([]byte, saltLen), Set: c.now().UTC()}
	rand.Read(p.Salt)
	if err := c.acquireHash(ctx); err != nil {
		return err
	}
	p.Hash = hashPassword(p.KDF, password, p.Salt)
	c.releaseHash()
	return c.storePassword(p, "set")
}

// storePassword saves p (nil removes the password) and drops the cache.
func (c *Controller) storePassword(p *passwordRecord, what string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p == nil {
		if err := c.st.Delete([]byte(keyPassword)); err != nil {
			return fmt.Errorf("remove password: %w", err)
		}
	} else {
		b, _ := json.Marshal(p)
		if err := c.st.Set([]byte(keyPassword), b); err != nil {
			return fmt.Errorf("save password: %w", err)
		}
	}
	c.password = p
	clear(c.verified)
	if p != nil {
		c.log.Info("password "+what, "user", p.User)
	} else {
		c.log.Info("password removed")
	}
	return nil
}

// ClearPassword removes the password: remote callers then need a paired
// token. Removing a password that is not set is not an error.
func (c *Controller) ClearPassword() error {
	return c.storePassword(nil, "")
}

func (c *Controller) acquireHash(ctx context.Context) error {
	select {
	case c.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Controller) releaseHash() { <-c.hashSem }

// cachedPassword reports whether user and password were verified recently
// against the current password, from the client address key.
func (c *Controller) cachedPassword(key, user, password string, now time.Time) (Identity, bool) {
	k := c.mac(key, user, password)
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.verified[k]
	if !ok || c.password == nil || now.Sub(at) > verifiedTTL {
		return Identity{}, false
	}
	return Identity{Kind: KindPassword, User: c.password.User}, true
}

// checkPassword runs the slow hash and remembers a success for the client
// address key.
func (c *Controller) checkPassword(ctx context.Context, key, user, password string) (Identity, error) {
	c.mu.Lock()
	p := c.password
	c.mu.Unlock()
	// No slow hash for what cannot match: no password set, or one that
	// breaks the rules every stored password was checked against.
	if p == nil || len(password) > maxPasswordLen || utf8.RuneCountInString(password) < MinPasswordLen {
		return Identity{}, ErrBadCredentials
	}
	if err := c.acquireHash(ctx); err != nil {
		return Identity{}, err
	}
	got := hashPassword(p.KDF, password, p.Salt)
	c.releaseHash()
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(p.User))
	hashOK := subtle.ConstantTimeCompare(got, p.Hash)
	if userOK&hashOK != 1 {
		return Identity{}, ErrBadCredentials
	}
	now := c.now()
	c.mu.Lock()
	stale := c.password != p // changed while we hashed
	if !stale {
		if len(c.verified) >= maxVerified {
			clear(c.verified)
		}
		c.verified[c.mac(key, user, password)] = now
	}
	c.mu.Unlock()
	if stale {
		return Identity{}, ErrBadCredentials
	}
	if p.KDF != c.kdf {
		c.upgrade(ctx, p, password)
	}
	return Identity{Kind: KindPassword, User: p.User}, nil
}

// upgrade re-hashes password, now known to be right, with the current
// parameters: they changed since p was made. A password set meanwhile wins.
func (c *Controller) upgrade(ctx context.Context, p *passwordRecord, password string) {
	np := *p
	np.KDF, np.Salt = c.kdf, make([]byte, saltLen)
	rand.Read(np.Salt)
	if c.acquireHash(ctx) != nil {
		return
	}
	np.Hash = hashPassword(np.KDF, password, np.Salt)
	c.releaseHash()
	b, _ := json.Marshal(&np)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.password != p {
		return
	}
	if err := c.st.Set([]byte(keyPassword), b); err != nil {
		c.log.Warn("re-hash password", "err", err)
		return
	}
	c.password = &np // the cache stays valid: same user and password
	c.log.Info("password re-hashed with the current parameters", "user", np.User)
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}
