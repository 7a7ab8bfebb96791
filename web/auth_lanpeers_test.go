package web

import (
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
)

// TestAuthLANPeersExemption: POST /lan/v1/peers (the LAN torrent
// question, package web/lan) reaches the LAN handler without credentials;
// nothing that merely resembles it does, browsers on other sites are
// still turned away, and the client list still applies.
func TestAuthLANPeersExemption(t *testing.T) {
	var calls atomic.Int32
	lanH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"held":[],"peerPort":0}`))
	})
	e := newAuthEnv(t, func(o *Options) { o.LAN = lanH })
	body := map[string][]string{"tokens": {}}

	e.expect(e.req("POST", "/lan/v1/peers", lanAddr, body), 200, "LAN POST /lan/v1/peers, no credentials")
	if n := calls.Load(); n != 1 {
		t.Fatalf("LAN handler called %d times, want 1", n)
	}

	for _, tt := range []struct{ method, path string }{
		{"GET", "/lan/v1/peers"},
		{"HEAD", "/lan/v1/peers"},
		{"PUT", "/lan/v1/peers"},
		{"DELETE", "/lan/v1/peers"},
		{"PATCH", "/lan/v1/peers"},
		{"POST", "/lan/v1/peers/"},
		{"POST", "/lan/v1/peers?x=1"},
		{"POST", "/lan/v1/peers/x"},
		{"POST", "/lan/v1/peersx"},
		{"POST", "/lan/v1/peer"},
		{"POST", "/lan/v1/Peers"},
		{"POST", "//lan/v1/peers"},
		{"POST", "/lan/v1/x/../peers"},
		{"POST", "/lan/v1/"},
		{"POST", "/lan/v2/peers"},
		{"POST", "/api/v1/lan/v1/peers"},
		{"POST", "/api/v1/torrents"},
		{"POST", "/api/v1/torrents/1/peers"},
	} {
		e.expect(e.req(tt.method, tt.path, lanAddr, body), 401, "LAN "+tt.method+" "+tt.path+" without credentials")
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("LAN handler called %d times after refused requests, want 1", n)
	}

	// A page on another site cannot make a visitor's browser ask.
	e.expect(e.req("POST", "/lan/v1/peers", lanAddr, body, "Sec-Fetch-Site", "cross-site"), 403, "cross-site browser POST /lan/v1/peers")

	// The client list (access.clients) applies.
	e2 := newAuthEnv(t, func(o *Options) {
		o.LAN = lanH
		o.Clients = []netip.Prefix{netip.MustParsePrefix("192.168.1.21/32")}
	})
	e2.expect(e2.req("POST", "/lan/v1/peers", lanAddr, body), 403, "POST /lan/v1/peers from an address outside access.clients")
	e2.expect(e2.req("POST", "/lan/v1/peers", lan2Addr, body), 200, "POST /lan/v1/peers from an allowed address")

	// Without a LAN handler the path is a plain 404.
	e3 := newAuthEnv(t)
	e3.expect(e3.req("POST", "/lan/v1/peers", lanAddr, body), 404, "POST /lan/v1/peers without a LAN handler")
}
