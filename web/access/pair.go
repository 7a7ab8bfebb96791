package access

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// PairRequest is a pending pairing request as the owner sees it (through
// a trusted caller): Code is what the requester must type.
type PairRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Addr string `json:"address"`
	Code string `json:"code"`
	// Match is a 4-digit number the requesting screen shows (big, on a
	// TV) and the owner sees next to the request, so that the owner
	// approves the right one. It is not secret and proves nothing: it is
	// neither the code nor derived from it or the request secret.
	Match   string    `json:"match"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// Approved: the owner approved it (hearth pair --approve, the button);
	// the requester collects its token by polling.
	Approved  bool `json:"approved"`
	TriesLeft int  `json:"triesLeft"`
}

// PairTicket is what the requester gets: the request's ID and the secret
// that alone can confirm it or collect its token.
type PairTicket struct {
	ID      string    `json:"id"`
	Secret  string    `json:"secret"`
	Match   string    `json:"match"` // what the requester shows; see PairRequest.Match
	Expires time.Time `json:"expires"`
}

type pendingPair struct {
	PairRequest
	secret  [32]byte // SHA-256 of the request secret
	addr    netip.Addr
	addrKey string
}

// RequestPairing registers a pairing request from a client at addr that
// calls itself name. The code goes to the log and to OnEvent, never to the
// requester. If the pairing window is open (the button), the request is
// approved at once.
func (c *Controller) RequestPairing(addr netip.Addr, name string) (PairTicket, error) {
	name, err := cleanName(name)
	if err != nil {
		return PairTicket{}, err
	}
	now := c.now()
	key := clientKey(addr)
	if ok, retry := c.clients.allow(key, now); !ok {
		return PairTicket{}, &RateLimitError{RetryAfter: retry}
	}
	c.mu.Lock()
	evs := c.expireLocked(now)
	if !c.pairing {
		c.mu.Unlock()
		c.emitAll(evs)
		return PairTicket{}, ErrPairingOff
	}
	mine := 0
	for _, p := range c.pending {
		if p.addrKey == key {
			mine++
		}
	}
	if len(c.pending) >= MaxPending || mine >= MaxPendingPerClient {
		c.mu.Unlock()
		c.emitAll(evs)
		// Creating requests is a cheap way to fill the table: count it.
		c.clients.fail(key, now)
		return PairTicket{}, fmt.Errorf("%w: pending pairing requests; wait for them to expire (%s) or deny them (hearth pair --deny ID)", ErrTooMany, PairTTL)
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	code := newCode()
	ticket := PairTicket{ID: c.newIDLocked(), Secret: base64.RawURLEncoding.EncodeToString(secret),
		Match: c.newMatchLocked(code), Expires: now.Add(PairTTL).UTC()}
	p := &pendingPair{
		PairRequest: PairRequest{ID: ticket.ID, Name: name, Addr: addr.Unmap().String(), Code: code, Match: ticket.Match,
			Created: now.UTC(), Expires: ticket.Expires, TriesLeft: MaxCodeTries},
		secret: sha256.Sum256([]byte(ticket.Secret)), addr: addr, addrKey: key,
	}
	c.pending[p.ID] = p
	evs = append(evs, Event{Kind: EventPairRequest, Request: p.PairRequest})
	c.log.Info("pairing requested: give the requester this code, or approve with hearth pair --approve",
		"request", p.ID, "name", p.Name, "client", p.Addr, "code", p.Code, "expires", p.Expires.Format(time.RFC3339))
	if now.Before(c.window) {
		evs = append(evs, c.approveLocked(p, "the pairing button")...)
	}
	c.mu.Unlock()
	c.emitAll(evs)
	return ticket, nil
}

// newCode returns a uniformly random 6-digit code.
func newCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// newMatchLocked returns a random 4-digit match number that no pending
// request shows (two screens asking at once must look different) and that
// is no part of code: the requester shows it, and must learn nothing of
// the code from it.
func (c *Controller) newMatchLocked(code string) string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		m := fmt.Sprintf("%04d", n.Int64())
		used := strings.Contains(code, m)
		for _, p := range c.pending {
			used = used || p.Match == m
		}
		if !used {
			return m
		}
	}
}

// CompletePairing is the requester's second step. With a code it confirms
// the request; with an empty code it asks whether the owner approved it
// (ErrPending if not yet). On success the request is used up and the
// client gets its device record and token (shown this once, stored only
// as a hash). A wrong secret or unknown id is ErrNotFound; a wrong code is
// ErrWrongCode, and the MaxCodeTries-th ends the request. Every failure
// counts against addr's rate limit.
func (c *Controller) CompletePairing(addr netip.Addr, id, secret, code string) (Device, string, error) {
	now := c.now()
	key := clientKey(addr)
	if ok, retry := c.clients.allow(key, now); !ok {
		return Device{}, "", &RateLimitError{RetryAfter: retry}
	}
	sh := sha256.Sum256([]byte(secret))
	c.mu.Lock()
	evs := c.expireLocked(now)
	p := c.pending[id]
	if p == nil || subtle.ConstantTimeCompare(p.secret[:], sh[:]) != 1 {
		c.mu.Unlock()
		c.emitAll(evs)
		c.clients.fail(key, now)
		return Device{}, "", fmt.Errorf("%w: no pairing request %q with that secret (expired, denied or already used?)", ErrNotFound, id)
	}
	switch {
	case code == "" && !p.Approved:
		c.mu.Unlock()
		c.emitAll(evs)
		return Device{}, "", ErrPending
	case code != "" && !p.Approved:
		if ok, retry := c.codes.allow("", now); !ok {
			c.mu.Unlock()
			c.emitAll(evs)
			c.log.Warn("pairing codes refused: too many wrong codes on this device lately", "retryAfter", retry)
			return Device{}, "", &RateLimitError{RetryAfter: retry}
		}
		if subtle.ConstantTimeCompare([]byte(code), []byte(p.Code)) != 1 {
			p.TriesLeft--
			left := p.TriesLeft
			if left <= 0 {
				delete(c.pending, id)
				evs = append(evs, Event{Kind: EventPairEnded, Request: p.PairRequest})
				c.log.Warn("pairing request ended: too many wrong codes", "request", id, "name", p.Name, "client", p.Addr)
			} else {
				c.log.Warn("wrong pairing code", "request", id, "client", addr.Unmap().String(), "triesLeft", left)
			}
			c.mu.Unlock()
			c.emitAll(evs)
			c.clients.fail(key, now)
			c.codes.fail("", now)
			if left <= 0 {
				return Device{}, "", fmt.Errorf("%w: that was the last try; ask to pair again", ErrWrongCode)
			}
			return Device{}, "", fmt.Errorf("%w (%d tries left)", ErrWrongCode, left)
		}
	}
	// Approved, or the right code (a code sent for an approved request is
	// not checked: the owner already said yes).
	delete(c.pending, id)
	d, tok, err := c.addDeviceLocked(p.Name, addr, now)
	if err != nil {
		c.mu.Unlock()
		c.emitAll(evs)
		return Device{}, "", err
	}
	how := "code"
	if p.Approved {
		how = "approval"
	}
	c.log.Info("device paired", "device", d.ID, "name", d.Name, "client", d.Addr, "by", how)
	evs = append(evs, Event{Kind: EventPaired, Request: p.PairRequest, Device: d})
	c.mu.Unlock()
	c.emitAll(evs)
	return d, tok, nil
}

// PendingPairings lists pending requests with their codes, oldest first.
// Only a trusted or authenticated caller may see it.
func (c *Controller) PendingPairings() []PairRequest {
	c.mu.Lock()
	evs := c.expireLocked(c.now())
	out := make([]PairRequest, 0, len(c.pending))
	for _, p := range c.pending {
		out = append(out, p.PairRequest)
	}
	c.mu.Unlock()
	c.emitAll(evs)
	slices.SortFunc(out, func(a, b PairRequest) int { return a.Created.Compare(b.Created) })
	return out
}

// ApprovePairing approves a pending request as the owner (hearth pair
// --approve): its requester collects the token by polling.
func (c *Controller) ApprovePairing(id string) (PairRequest, error) {
	c.mu.Lock()
	evs := c.expireLocked(c.now())
	p := c.pending[id]
	if p == nil {
		c.mu.Unlock()
		c.emitAll(evs)
		return PairRequest{}, fmt.Errorf("%w: no pending pairing request %q", ErrNotFound, id)
	}
	evs = append(evs, c.approveLocked(p, "the owner")...)
	r := p.PairRequest
	c.mu.Unlock()
	c.emitAll(evs)
	return r, nil
}

// approveLocked marks p approved and gives its requester PairTTL from now
// to collect the token.
func (c *Controller) approveLocked(p *pendingPair, by string) []Event {
	p.Approved = true
	p.Expires = c.now().Add(PairTTL).UTC()
	c.log.Info("pairing request approved", "request", p.ID, "name", p.Name, "client", p.Addr, "by", by)
	if by == "the pairing button" {
		c.window = time.Time{}
		return []Event{{Kind: EventWindowClosed}}
	}
	return nil
}

// DenyPairing drops a pending request.
func (c *Controller) DenyPairing(id string) (PairRequest, error) {
	c.mu.Lock()
	evs := c.expireLocked(c.now())
	p := c.pending[id]
	if p == nil {
		c.mu.Unlock()
		c.emitAll(evs)
		return PairRequest{}, fmt.Errorf("%w: no pending pairing request %q", ErrNotFound, id)
	}
	delete(c.pending, id)
	c.log.Info("pairing request denied", "request", id, "name", p.Name, "client", p.Addr)
	evs = append(evs, Event{Kind: EventPairEnded, Request: p.PairRequest})
	c.mu.Unlock()
	c.emitAll(evs)
	return p.PairRequest, nil
}

// OpenPairingWindow is the hook for the device's pairing button (a long
// press, issue 5): it approves the one device that asks to pair, without a
// code. If exactly one request is already waiting, it is approved now;
// otherwise the window stays open for d (ButtonWindow for the button) and
// the first request that arrives in it is approved, which closes it. With
// several requests waiting none is approved: the button cannot tell them
// apart (an intruder may be racing the owner's phone), so the owner uses
// the codes instead.
func (c *Controller) OpenPairingWindow(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("%w: pairing window of %s", ErrInvalid, d)
	}
	now := c.now()
	c.mu.Lock()
	evs := c.expireLocked(now)
	if !c.pairing {
		c.mu.Unlock()
		c.emitAll(evs)
		return ErrPairingOff
	}
	var waiting []*pendingPair
	for _, p := range c.pending {
		if !p.Approved {
			waiting = append(waiting, p)
		}
	}
	switch len(waiting) {
	case 0:
		c.window = now.Add(d)
		evs = append(evs, Event{Kind: EventWindowOpen})
		c.log.Info("pairing window open: the next device that asks to pair is accepted", "for", d)
		until := c.window
		time.AfterFunc(d, func() { c.closeWindowAt(until) })
	case 1:
		c.window = now.Add(d) // approveLocked closes it again
		evs = append(evs, c.approveLocked(waiting[0], "the pairing button")...)
	default:
		c.log.Warn("pairing button pressed while several devices wait to pair: approving none; use the codes (hearth pair)", "waiting", len(waiting))
	}
	c.mu.Unlock()
	c.emitAll(evs)
	return nil
}

// ConfirmByButton is what a long press of the device's pairing button
// does: OpenPairingWindow(ButtonWindow).
func (c *Controller) ConfirmByButton() error { return c.OpenPairingWindow(ButtonWindow) }

// closeWindowAt closes the window opened until `until`, unless it was
// closed or reopened since.
func (c *Controller) closeWindowAt(until time.Time) {
	c.mu.Lock()
	if !c.window.Equal(until) {
		c.mu.Unlock()
		return
	}
	c.window = time.Time{}
	c.mu.Unlock()
	c.log.Info("pairing window closed")
	c.emit(Event{Kind: EventWindowClosed})
}

// ClosePairingWindow closes the pairing window if it is open.
func (c *Controller) ClosePairingWindow() {
	c.mu.Lock()
	open := c.now().Before(c.window)
	c.window = time.Time{}
	c.mu.Unlock()
	if open {
		c.log.Info("pairing window closed")
		c.emit(Event{Kind: EventWindowClosed})
	}
}

// PairingWindowOpen reports whether the button's pairing window is open
// (for an LED pattern, or mDNS's "pair" record).
func (c *Controller) PairingWindowOpen() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Before(c.window)
}

// PairingEnabled reports whether clients may ask to pair (access.pairing).
func (c *Controller) PairingEnabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pairing
}

// expireLocked drops expired requests and returns their events.
func (c *Controller) expireLocked(now time.Time) []Event {
	var evs []Event
	for id, p := range c.pending {
		if !now.Before(p.Expires) {
			delete(c.pending, id)
			c.log.Info("pairing request expired", "request", id, "name", p.Name, "client", p.Addr)
			evs = append(evs, Event{Kind: EventPairEnded, Request: p.PairRequest})
		}
	}
	return evs
}

func (c *Controller) emitAll(evs []Event) {
	for _, e := range evs {
		c.emit(e)
	}
}

// IsRateLimited returns the retry delay if err is a *RateLimitError.
func IsRateLimited(err error) (time.Duration, bool) {
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return rl.RetryAfter, true
	}
	return 0, false
}
