package access

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestPairMatch(t *testing.T) {
	f := newFixture(t, nil)
	digits := regexp.MustCompile(`^[0-9]{4}$`)
	seen := map[string]bool{}
	for i := range MaxPendingPerClient {
		tk, err := f.c.RequestPairing(lan, "TV")
		if err != nil {
			t.Fatal(err)
		}
		if !digits.MatchString(tk.Match) {
			t.Fatalf("ticket %d Match = %q, want 4 digits", i, tk.Match)
		}
		if seen[tk.Match] {
			t.Errorf("ticket %d Match %q repeats a pending request's", i, tk.Match)
		}
		seen[tk.Match] = true
	}
	for _, p := range f.c.PendingPairings() {
		if !seen[p.Match] {
			t.Errorf("pending %s Match = %q, want its ticket's", p.ID, p.Match)
		}
		if strings.Contains(p.Code, p.Match) {
			t.Errorf("pending %s Match %q is part of the code %q", p.ID, p.Match, p.Code)
		}
	}
	for _, e := range f.events() {
		if e.Kind == EventPairRequest && !seen[e.Request.Match] {
			t.Errorf("event Match = %q, want a ticket's", e.Request.Match)
		}
	}
}

func TestNewDeviceAndRevokeToken(t *testing.T) {
	f := newFixture(t, nil)
	c := f.c
	if _, _, err := c.NewDevice(" ", lan); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewDevice(empty name) = %v, want ErrInvalid", err)
	}
	d, tok, err := c.NewDevice("Firefox on Linux", lan)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.Authenticate(ctx, lan2, Credentials{Token: tok})
	if err != nil || id.Kind != KindToken || id.Device != d.ID || id.Name != "Firefox on Linux" {
		t.Fatalf("Authenticate(new device's token) = %+v, %v, want device %s", id, err, d.ID)
	}
	// It survives a reload like a paired device.
	c2, err := New(Options{Store: f.st, KDF: cheapKDF})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.Authenticate(ctx, lan, Credentials{Token: tok}); err != nil {
		t.Errorf("token after reload: %v", err)
	}
	if _, err := c.RevokeToken("hth_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeToken(unknown) = %v, want ErrNotFound", err)
	}
	if got, err := c.RevokeToken(tok); err != nil || got.ID != d.ID {
		t.Errorf("RevokeToken = %+v, %v, want device %s", got, err, d.ID)
	}
	if _, err := c.Authenticate(ctx, lan, Credentials{Token: tok}); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("revoked token = %v, want ErrBadCredentials", err)
	}
	if n := len(c.Devices()); n != 0 {
		t.Errorf("devices after RevokeToken = %d, want 0", n)
	}
	if strings.Contains(f.logs.String(), tok) {
		t.Error("the token appears in the log")
	}
}
