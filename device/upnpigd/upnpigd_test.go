package upnpigd

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/natpmp/natpmptest"
)

// TestMiniupnpd: discovery, external address, a mapping that shows up as
// an nftables DNAT rule, and its deletion, against Debian's miniupnpd
// with UPnP-IGD on, in a network namespace (natpmptest.StartMiniupnpd).
func TestMiniupnpd(t *testing.T) {
	r := natpmptest.StartMiniupnpd(t, false, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Discover(ctx, netip.AddrPortFrom(r.Gateway, 0))
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	if a, err := c.ExternalAddress(ctx); err != nil || a != netip.MustParseAddr("5.5.5.5") {
		t.Fatalf("ExternalAddress() = %v, %v; want 5.5.5.5", a, err)
	}
	life, err := c.MapTCP(ctx, 9092, 9092, time.Hour)
	if err != nil || life != time.Hour {
		t.Fatalf("MapTCP(9092) = %v, %v", life, err)
	}
	if rules := r.Rules(t); !strings.Contains(rules, "dnat") || !strings.Contains(rules, "10.213.0.1") || !strings.Contains(rules, "9092") {
		t.Errorf("no DNAT rule for the mapping:\n%s", rules)
	}
	if _, err := c.MapTCP(ctx, 9092, 9092, 0); err != nil {
		t.Fatalf("MapTCP(delete) = %v", err)
	}
	if rules := r.Rules(t); strings.Contains(rules, "9092") {
		t.Errorf("rule left after the delete:\n%s", rules)
	}
	// miniupnpd's permission rules deny ports below 1024: a SOAP fault.
	var se *SOAPError
	if _, err := c.MapTCP(ctx, 80, 80, time.Hour); !errors.As(err, &se) || se.Code == 0 {
		t.Errorf("MapTCP(80), denied by the router = %v, want a SOAPError", err)
	}
}

// TestNoIGD: a router that does not answer the search.
func TestNoIGD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := Discover(ctx, netip.MustParseAddrPort("127.0.0.1:9")); err == nil {
		t.Error("Discover(nothing there) = nil error")
	}
}
