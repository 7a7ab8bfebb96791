package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

const keyDevicePrefix = "access/device/"

// Device is a paired device as listings show it: never its token.
type Device struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// Addr is the address it was last used from (or paired from).
	Addr string `json:"address,omitempty"`
}

// device is the stored record: Device plus the SHA-256 of its token.
type device struct {
	Device
	Hash []byte `json:"tokenSha256"`

	storedUsed time.Time // LastUsed as last written to the store
}

func (c *Controller) checkToken(tok string, addr netip.Addr, now time.Time) (Identity, error) {
	h, ok := parseToken(tok)
	if !ok {
		return Identity{}, ErrBadCredentials
	}
	c.mu.Lock()
	d := c.byHash[h]
	// The map lookup found it by hash; compare again in constant time so
	// the decision itself does not depend on where bytes differ.
	if d == nil || subtle.ConstantTimeCompare(d.Hash, h[:]) != 1 {
		c.mu.Unlock()
		return Identity{}, ErrBadCredentials
	}
	defer c.mu.Unlock()
	d.LastUsed, d.Addr = now.UTC(), addr.Unmap().String()
	if now.Sub(d.storedUsed) >= lastUsedEvery {
		d.storedUsed = d.LastUsed
		b, _ := json.Marshal(d)
		if err := c.st.Set([]byte(keyDevicePrefix+d.ID), b); err != nil {
			c.log.Warn("save device last-used time", "device", d.ID, "err", err)
		}
	}
	return Identity{Kind: KindToken, Device: d.ID, Name: d.Name}, nil
}

// Devices lists paired devices, oldest first.
func (c *Controller) Devices() []Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Device, 0, len(c.devices))
	for _, d := range c.devices {
		out = append(out, d.Device)
	}
	slices.SortFunc(out, func(a, b Device) int {
		if n := a.Created.Compare(b.Created); n != 0 {
			return n
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Revoke removes a paired device: its token stops working at once.
func (c *Controller) Revoke(id string) (Device, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.devices[id]
	if d == nil {
		return Device{}, fmt.Errorf("%w: no paired device %q", ErrNotFound, id)
	}
	if err := c.st.Delete([]byte(keyDevicePrefix + id)); err != nil {
		return Device{}, fmt.Errorf("revoke device %s: %w", id, err)
	}
	delete(c.devices, id)
	delete(c.byHash, [32]byte(d.Hash))
	c.log.Info("device revoked", "device", id, "name", d.Name)
	return d.Device, nil
}

// addDeviceLocked creates a device with a fresh token; c.mu is held.
func (c *Controller) addDeviceLocked(name string, addr netip.Addr, now time.Time) (Device, string, error) {
	if len(c.devices) >= MaxDevices {
		return Device{}, "", fmt.Errorf("%w: %d paired devices; revoke one first (hearth devices revoke ID)", ErrTooMany, MaxDevices)
	}
	tok, h := newToken()
	d := &device{Device: Device{ID: c.newIDLocked(), Name: name, Created: now.UTC(), Addr: addr.Unmap().String()}, Hash: h[:]}
	d.storedUsed = d.LastUsed
	b, _ := json.Marshal(d)
	if err := c.st.Set([]byte(keyDevicePrefix+d.ID), b); err != nil {
		return Device{}, "", fmt.Errorf("save paired device: %w", err)
	}
	c.devices[d.ID] = d
	c.byHash[h] = d
	return d.Device, tok, nil
}

// idAlphabet has no look-alike characters: IDs are read off a screen and typed.
const idAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newIDLocked returns a short random ID used by no device or pending request.
func (c *Controller) newIDLocked() string {
	for {
		var b [6]byte
		rand.Read(b[:])
		for i := range b {
			b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
		}
		id := string(b[:])
		if c.devices[id] == nil && c.pending[id] == nil {
			return id
		}
	}
}

// cleanName makes a client-chosen device name safe to log, store and print
// in a terminal: printable, one line, at most 64 characters.
func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", fmt.Errorf("%w: empty device name: say what is pairing, like \"Anna's phone\"", ErrInvalid)
	}
	if !printable(name) {
		return "", fmt.Errorf("%w: device name with control characters or bad UTF-8", ErrInvalid)
	}
	if r := []rune(name); len(r) > 64 {
		return "", fmt.Errorf("%w: device name longer than 64 characters", ErrInvalid)
	}
	return name, nil
}
