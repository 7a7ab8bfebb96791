package netkey

import (
	"net/netip"
	"testing"
)

func TestClient(t *testing.T) {
	tests := []struct{ addr, want string }{
		{"192.168.1.20", "192.168.1.20/32"},
		{"::ffff:192.168.1.20", "192.168.1.20/32"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:bbbb::7", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	}
	for _, tt := range tests {
		if got := Client(netip.MustParseAddr(tt.addr)); got.String() != tt.want {
			t.Errorf("Client(%s) = %s, want %s", tt.addr, got, tt.want)
		}
	}
	if got := Client(netip.Addr{}); got.IsValid() {
		t.Errorf("Client(invalid) = %s, want the zero Prefix", got)
	}
}
