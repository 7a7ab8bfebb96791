package natpmp

import (
	"context"
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/natpmp/natpmptest"
)

func TestClient(t *testing.T) {
	ctx := context.Background()
	ext := netip.MustParseAddr("203.0.113.7")
	r := natpmptest.Start(t, "127.0.0.1:0", ext)
	c := &Client{Gateway: r.Addr}
	got, err := c.ExternalAddress(ctx)
	if err != nil || got != ext {
		t.Fatalf("ExternalAddress() = %v, %v; want %v", got, err, ext)
	}
	m, err := c.MapTCP(ctx, 9092, 9092, 2*time.Hour)
	if err != nil || m != (Mapping{Internal: 9092, External: 9092, Lifetime: 2 * time.Hour}) {
		t.Fatalf("MapTCP() = %+v, %v", m, err)
	}
	if rm := r.Mappings()[9092]; rm.External != 9092 || rm.Lifetime != 2*time.Hour {
		t.Errorf("router holds %+v", rm)
	}
	if _, err := c.MapTCP(ctx, 9092, 0, 0); err != nil {
		t.Fatalf("MapTCP(lifetime 0) = %v", err)
	}
	if n := len(r.Mappings()); n != 0 {
		t.Errorf("router holds %d mappings after the delete, want 0", n)
	}
	r.Refuse(2)
	var re *ResultError
	if _, err := c.MapTCP(ctx, 9092, 9092, time.Hour); !errors.As(err, &re) || re.Code != 2 || !strings.Contains(err.Error(), "not authorized") {
		t.Errorf("MapTCP on a refusing router = %v, want result 2", err)
	}
}

func TestNoAnswer(t *testing.T) {
	r := natpmptest.Start(t, "127.0.0.1:0", netip.MustParseAddr("203.0.113.7"))
	addr := r.Addr
	// A port on loopback that nothing answers on: the router's, closed.
	c := &Client{Gateway: netip.AddrPortFrom(addr.Addr(), addr.Port()+1), Tries: 2}
	if _, err := c.ExternalAddress(context.Background()); !errors.Is(err, ErrNoAnswer) {
		t.Errorf("ExternalAddress() with no router = %v, want ErrNoAnswer", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.ExternalAddress(ctx); err == nil {
		t.Error("ExternalAddress(cancelled) = nil error")
	}
}

func TestParseRoutes(t *testing.T) {
	const table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
		"eth0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" +
		"eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
	got, err := parseRoutes(strings.NewReader(table))
	want := netip.MustParseAddr("192.168.1.1")
	if isBigEndian() {
		want = netip.MustParseAddr("1.1.168.192")
	}
	if err != nil || got != want {
		t.Errorf("parseRoutes() = %v, %v; want %v", got, err, want)
	}
	if _, err := parseRoutes(strings.NewReader("Iface\tDestination\n")); err == nil {
		t.Error("parseRoutes(no default route) = nil error")
	}
}

func isBigEndian() bool { return binary.NativeEndian.Uint16([]byte{0, 1}) == 1 }
