// Package access decides who may control a Hearth daemon from the network:
// an owner password (stored as a salted Argon2id hash), pairing of phones
// and TVs (a 6-digit code shown on the device, or its button) that hands
// out revocable tokens (stored as SHA-256 hashes), and per-address rate
// limits on every wrong guess. The HTTP side (which callers are trusted,
// headers, status codes) is web's middleware; this package holds the
// secrets and the rules.
//
// State lives in the daemon's store under the "access/" prefix:
//
//	access/password      the password record (user, Argon2id parameters, salt, hash)
//	access/device/<id>   one paired device (name, token hash, created, last used)
//
// Pending pairing requests live in memory only: they expire within minutes.
//
// Nothing secret is ever logged or returned by a listing: passwords and
// tokens are never stored in the clear, request secrets only as hashes.
// The one exception by design is a pending request's 6-digit code, which
// the owner must see (log, "hearth pair", the TV UI) to confirm it.
package access

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

var (
	// ErrBadCredentials means a wrong user name, password or token.
	ErrBadCredentials = errors.New("access: wrong credentials")
	// ErrNoCredentials means the request carried none.
	ErrNoCredentials = errors.New("access: no credentials")
	// ErrNotFound means no such pairing request (expired, denied, used, or
	// a wrong request secret) or no such device.
	ErrNotFound = errors.New("access: not found")
	// ErrWrongCode means a wrong pairing code; the request stays open
	// until it has had MaxCodeTries wrong ones.
	ErrWrongCode = errors.New("access: wrong pairing code")
	// ErrPending means the pairing request is still waiting for the owner.
	ErrPending = errors.New("access: pairing request not confirmed yet")
	// ErrPairingOff means access.pairing is false.
	ErrPairingOff = errors.New("access: pairing is turned off")
	// ErrTooMany means a bound was reached: pending requests or paired devices.
	ErrTooMany = errors.New("access: too many")
	// ErrInvalid means bad input (a password too short, a name too long…).
	ErrInvalid = errors.New("access: invalid")
)

// RateLimitError is returned instead of checking anything when a client
// address (or everyone, for passwords and codes) has had too many failures.
type RateLimitError struct {
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("access: too many failed attempts; try again in %s", e.RetryAfter)
}

// Limits and lifetimes. They are documented in docs/access.md; change both.
const (
	// PairTTL is how long a pairing request waits for its code or approval.
	PairTTL = 5 * time.Minute
	// MaxCodeTries wrong codes end a pairing request.
	MaxCodeTries = 5
	// MaxPending bounds pending pairing requests in total, and
	// MaxPendingPerClient per client address.
	MaxPending          = 16
	MaxPendingPerClient = 4
	// MaxDevices bounds paired devices.
	MaxDevices = 100
	// ButtonWindow is how long the device's button opens pairing (issue 5).
	ButtonWindow = 2 * time.Minute

	// Per client address: 10 failures in a row, then one per 6 s.
	clientBurst = 10
	clientEvery = 6 * time.Second
	// Whole device, for passwords: 100 failures, then one per 10 s.
	passwordBurst = 100
	passwordEvery = 10 * time.Second
	// Whole device, for pairing codes: 20 wrong codes, then one per 3 min
	// (at most 500 guesses a day at 1 in 10^6 each).
	codeBurst = 20
	codeEvery = 3 * time.Minute
	// Client addresses tracked by the limiter before they share a bucket.
	maxTracked = 4096
	// lastUsedEvery is how stale a device's stored last-used time may get:
	// writing on every request would wear a router's flash.
	lastUsedEvery = 10 * time.Minute
)

// Options configure New.
type Options struct {
	// Store keeps the password and the paired devices (required).
	Store store.Store
	// Logger gets pairing events (with the code, which the owner needs) and
	// rate-limit warnings; never a password or token. Nil discards.
	Logger *slog.Logger
	// Pairing lets clients ask to pair (config access.pairing).
	Pairing bool
	// OnEvent, if set, is called after a pairing request arrives (with its
	// code, for a screen to show), ends, or the pairing window opens or
	// closes. It is called without locks held, from the goroutine that
	// caused the event; it must not block for long. An expired request is
	// reported when the controller next looks at its requests (any pairing
	// call), not at the moment it expires.
	OnEvent func(Event)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// KDF overrides the password hash parameters for new passwords; zero
	// means DefaultKDF. Tests use cheap ones.
	KDF KDFParams
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventPairRequest: a client asked to pair; Request holds the code.
	EventPairRequest EventKind = iota + 1
	// EventPaired: a device got its token; Device is set.
	EventPaired
	// EventPairEnded: a request was denied, expired or had too many wrong codes.
	EventPairEnded
	// EventWindowOpen and EventWindowClosed: the button's pairing window.
	EventWindowOpen
	EventWindowClosed
)

// Event is a pairing event for a UI, LED or log.
type Event struct {
	Kind    EventKind
	Request PairRequest
	Device  Device
}

// Kind is how a caller was let in.
type Kind string

const (
	KindTrusted  Kind = "trusted"  // no credentials needed (loopback)
	KindPassword Kind = "password" // the owner's user name and password
	KindToken    Kind = "token"    // a paired device's token
)

// Identity is who a request comes from, once authenticated.
type Identity struct {
	Kind Kind `json:"kind"`
	// User is the user name (KindPassword).
	User string `json:"user,omitempty"`
	// Device and Name identify a paired device (KindToken).
	Device string `json:"device,omitempty"`
	Name   string `json:"name,omitempty"`
}

// Credentials are what a request carried. Token is set for a bearer
// token; otherwise User and Password (where Password may be a token:
// Transmission remotes can only send Basic).
type Credentials struct {
	User, Password, Token string
}

// Controller holds the access state. Its methods are safe for concurrent use.
type Controller struct {
	st      store.Store
	log     *slog.Logger
	now     func() time.Time
	onEvent func(Event)
	kdf     KDFParams

	// cacheKey keys the cache of verified passwords: an HMAC under a key
	// that never leaves this process, so the cache holds no usable hash.
	cacheKey [32]byte
	// hashSem lets one slow hash run at a time: a burst of guesses must
	// not take every core of a router.
	hashSem chan struct{}

	clients   *limiter // per address: every failure
	passwords *limiter // device-wide: wrong passwords
	codes     *limiter // device-wide: wrong pairing codes

	mu       sync.Mutex
	pairing  bool
	password *passwordRecord
	verified map[[32]byte]time.Time // HMAC of user+password → when verified
	devices  map[string]*device     // by id
	byHash   map[[32]byte]*device
	pending  map[string]*pendingPair // by id
	window   time.Time               // pairing window open until
}

// New loads the access state from opts.Store.
func New(opts Options) (*Controller, error) {
	if opts.Store == nil {
		return nil, errors.New("access: no store")
	}
	c := &Controller{
		st:        opts.Store,
		log:       opts.Logger,
		now:       opts.Now,
		onEvent:   opts.OnEvent,
		kdf:       opts.KDF,
		hashSem:   make(chan struct{}, 1),
		clients:   newLimiter(clientBurst, clientEvery, maxTracked),
		passwords: newLimiter(passwordBurst, passwordEvery, 1),
		codes:     newLimiter(codeBurst, codeEvery, 1),
		pairing:   opts.Pairing,
		verified:  map[[32]byte]time.Time{},
		devices:   map[string]*device{},
		byHash:    map[[32]byte]*device{},
		pending:   map[string]*pendingPair{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("component", "access")
	if c.now == nil {
		c.now = time.Now
	}
	if c.kdf == (KDFParams{}) {
		c.kdf = DefaultKDF
	}
	rand.Read(c.cacheKey[:])
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) load() error {
	b, err := c.st.Get([]byte(keyPassword))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return fmt.Errorf("read password: %w", err)
	default:
		var p passwordRecord
		if err := json.Unmarshal(b, &p); err != nil || p.check() != nil {
			// A damaged record must not lock the owner out for good, nor
			// let anyone in: treat it as no password and say so.
			c.log.Error("stored password record is damaged; ignoring it (set a new one with hearth passwd)", "err", err)
		} else {
			c.password = &p
		}
	}
	return c.st.Scan([]byte(keyDevicePrefix), func(k, v []byte) error {
		var d device
		if err := json.Unmarshal(v, &d); err != nil || len(d.Hash) != sha256.Size || d.ID == "" {
			c.log.Error("stored device record is damaged; ignoring it", "key", string(k), "err", err)
			return nil
		}
		d.storedUsed = d.LastUsed
		c.devices[d.ID] = &d
		c.byHash[[32]byte(d.Hash)] = &d
		return nil
	})
}

// Status summarizes the access state for GET /api/v1/access.
type Status struct {
	PasswordSet bool      `json:"passwordSet"`
	User        string    `json:"user,omitempty"`
	Devices     int       `json:"devices"`
	Pairing     bool      `json:"pairing"`
	Pending     int       `json:"pending"`
	WindowUntil time.Time `json:"windowUntil,omitzero"` // the button's pairing window, while open
}

// Status returns the current state.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	c.expireLocked(now)
	s := Status{Devices: len(c.devices), Pairing: c.pairing, Pending: len(c.pending)}
	if c.password != nil {
		s.PasswordSet, s.User = true, c.password.User
	}
	if now.Before(c.window) {
		s.WindowUntil = c.window
	}
	return s
}

// HasCredentials reports whether any way in for remote callers exists (a
// password or a paired device).
func (c *Controller) HasCredentials() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.password != nil || len(c.devices) > 0
}

// Authenticate checks the credentials a request from addr carried. It
// returns ErrNoCredentials for empty ones (no failure counted: clients
// send a first request without them to learn they are needed),
// ErrBadCredentials for wrong ones, and a *RateLimitError without
// checking anything when addr or the device has failed too often.
func (c *Controller) Authenticate(ctx context.Context, addr netip.Addr, cr Credentials) (Identity, error) {
	tok := cr.Token
	if tok == "" && LooksLikeToken(cr.Password) {
		tok = cr.Password
	}
	if tok == "" && cr.User == "" && cr.Password == "" {
		return Identity{}, ErrNoCredentials
	}
	now := c.now()
	key := clientKey(addr)
	// A password verified before from the same address passes without a
	// slow hash or a limit: the owner keeps working while someone else is
	// being rate-limited. Only from that address: a cache shared by all
	// would let a limited guesser test passwords at full speed (a cached
	// right one answers 200, a wrong one 429) for as long as the owner's
	// login stays cached.
	if tok == "" {
		if id, ok := c.cachedPassword(key, cr.User, cr.Password, now); ok {
			return id, nil
		}
	}
	if ok, retry := c.clients.allow(key, now); !ok {
		return Identity{}, &RateLimitError{RetryAfter: retry}
	}
	if tok != "" {
		id, err := c.checkToken(tok, addr, now)
		if err != nil {
			c.clients.fail(key, now)
			c.log.Warn("wrong token", "client", addr.String())
		}
		return id, err
	}
	if ok, retry := c.passwords.allow("", now); !ok {
		return Identity{}, &RateLimitError{RetryAfter: retry}
	}
	id, err := c.checkPassword(ctx, key, cr.User, cr.Password)
	if errors.Is(err, ErrBadCredentials) {
		c.clients.fail(key, c.now())
		c.passwords.fail("", c.now())
		c.log.Warn("wrong user name or password", "client", addr.String())
	}
	return id, err
}

// emit calls OnEvent; the caller must not hold c.mu.
func (c *Controller) emit(e Event) {
	if c.onEvent != nil {
		c.onEvent(e)
	}
}

// mac returns the HMAC of parts under the per-process key.
func (c *Controller) mac(parts ...string) [32]byte {
	h := hmac.New(sha256.New, c.cacheKey[:])
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return [32]byte(h.Sum(nil))
}
