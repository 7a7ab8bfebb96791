package access

import (
	"crypto/subtle"
	"fmt"
	"net/netip"
)

// NewDevice adds a paired device for a caller that proved who it is in
// another way (the owner's password, for a browser session: POST
// /api/v1/session), and returns its token, shown this once and stored
// only as a hash. The device is listed and revocable like any other and
// counts against MaxDevices.
func (c *Controller) NewDevice(name string, addr netip.Addr) (Device, string, error) {
	name, err := cleanName(name)
	if err != nil {
		return Device{}, "", err
	}
	now := c.now()
	c.mu.Lock()
	d, tok, err := c.addDeviceLocked(name, addr, now)
	c.mu.Unlock()
	if err != nil {
		return Device{}, "", err
	}
	c.log.Info("device added by a password login", "device", d.ID, "name", d.Name, "client", d.Addr)
	return d, tok, nil
}

// RevokeToken revokes the device whose token is tok (a browser logging out
// or logging in again) and returns it; ErrNotFound if no device has that
// token. It counts no failure: the caller already holds the token.
func (c *Controller) RevokeToken(tok string) (Device, error) {
	h, ok := parseToken(tok)
	if !ok {
		return Device{}, fmt.Errorf("%w: no device with that token", ErrNotFound)
	}
	c.mu.Lock()
	d := c.byHash[h]
	if d == nil || subtle.ConstantTimeCompare(d.Hash, h[:]) != 1 {
		c.mu.Unlock()
		return Device{}, fmt.Errorf("%w: no device with that token", ErrNotFound)
	}
	id := d.ID
	c.mu.Unlock()
	return c.Revoke(id)
}
