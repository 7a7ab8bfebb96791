package natpmp

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/natpmp/natpmptest"
)

// TestMiniupnpd: the client against an independent NAT-PMP server,
// Debian's miniupnpd, in a network namespace (natpmptest.StartMiniupnpd).
// Mappings must appear as nftables DNAT rules and go away when deleted.
func TestMiniupnpd(t *testing.T) {
	r := natpmptest.StartMiniupnpd(t, true, false)
	ctx := context.Background()
	c := &Client{Gateway: netip.AddrPortFrom(r.Gateway, Port)}
	if a, err := c.ExternalAddress(ctx); err != nil || a != netip.MustParseAddr("5.5.5.5") {
		t.Fatalf("ExternalAddress() = %v, %v; want 5.5.5.5", a, err)
	}
	m, err := c.MapTCP(ctx, 9092, 9092, time.Hour)
	if err != nil || m.Internal != 9092 || m.External != 9092 || m.Lifetime != time.Hour {
		t.Fatalf("MapTCP(9092) = %+v, %v", m, err)
	}
	if rules := r.Rules(t); !strings.Contains(rules, "dnat") || !strings.Contains(rules, "10.213.0.1") || !strings.Contains(rules, "9092") {
		t.Errorf("no DNAT rule for the mapping:\n%s", rules)
	}
	if _, err := c.MapTCP(ctx, 9092, 0, 0); err != nil {
		t.Fatalf("MapTCP(delete) = %v", err)
	}
	if rules := r.Rules(t); strings.Contains(rules, "9092") {
		t.Errorf("rule left after the delete:\n%s", rules)
	}
	// Another external port than the internal one.
	if m, err := c.MapTCP(ctx, 9093, 40000, time.Minute); err != nil || m.External != 40000 || m.Lifetime != time.Minute {
		t.Errorf("MapTCP(9093 -> 40000) = %+v, %v", m, err)
	}
	if rules := r.Rules(t); !strings.Contains(rules, "40000") || !strings.Contains(rules, "9093") {
		t.Errorf("no DNAT rule 40000 -> 9093:\n%s", rules)
	}
}
