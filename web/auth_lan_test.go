package web

import (
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

// TestAuthLANItemsExemption: GET /lan/v1/items/{64 hex} reaches the LAN
// handler without credentials; every other path and method under /lan/
// needs them, and the client list still applies.
func TestAuthLANItemsExemption(t *testing.T) {
	var calls atomic.Int32
	lanH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"target":"` + r.PathValue("token") + `"}`))
	})
	e := newAuthEnv(t, func(o *Options) { o.LAN = lanH })
	target := strings.Repeat("0a", 32)

	w := e.req("GET", "/lan/v1/items/"+target, lanAddr, nil)
	e.expect(w, 200, "LAN GET /lan/v1/items/<target>, no credentials")
	if !strings.Contains(w.Body.String(), target) {
		t.Errorf("LAN GET /lan/v1/items/<target> body = %q, want the LAN handler's answer", w.Body.String())
	}
	e.expect(e.req("HEAD", "/lan/v1/items/"+target, lanAddr, nil), 200, "LAN HEAD /lan/v1/items/<target>")
	if n := calls.Load(); n != 2 {
		t.Errorf("LAN handler called %d times, want 2", n)
	}

	for _, tt := range []struct{ method, path string }{
		{"POST", "/lan/v1/items/" + target},
		{"PUT", "/lan/v1/items/" + target},
		{"DELETE", "/lan/v1/items/" + target},
		{"GET", "/lan/v1/items/" + strings.ToUpper(target)},
		{"GET", "/lan/v1/items/" + target[:63]},
		{"GET", "/lan/v1/items/" + target + "0"},
		{"GET", "/lan/v1/items/" + target[:40]}, // a raw BEP 44 target is not a query token
		{"GET", "/lan/v1/items/" + target + "/x"},
		{"GET", "/lan/v1/items/" + target + "?x=1"},
		{"GET", "/lan/v1/items/"},
		{"GET", "/lan/v1/items"},
		{"GET", "/lan/v1/"},
		{"GET", "/lan/v1/status"},
		{"GET", "/lan/v2/items/" + target},
		{"GET", "/api/v1/lan/v1/items/" + target},
		{"GET", "/api/v1/torrents"},
	} {
		e.expect(e.req(tt.method, tt.path, lanAddr, nil), 401, "LAN "+tt.method+" "+tt.path+" without credentials")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("LAN handler called %d times after refused requests, want 2", n)
	}

	// The client list (access.clients) applies to the LAN path too.
	e2 := newAuthEnv(t, func(o *Options) {
		o.LAN = lanH
		o.Clients = []netip.Prefix{netip.MustParsePrefix("192.168.1.21/32")}
	})
	e2.expect(e2.req("GET", "/lan/v1/items/"+target, lanAddr, nil), 403, "GET /lan/v1/items from an address outside access.clients")
	e2.expect(e2.req("GET", "/lan/v1/items/"+target, lan2Addr, nil), 200, "GET /lan/v1/items from an allowed address")

	// Without a LAN handler the path is a plain 404.
	e3 := newAuthEnv(t)
	e3.expect(e3.req("GET", "/lan/v1/items/"+target, lanAddr, nil), 404, "GET /lan/v1/items without a LAN handler")
}
