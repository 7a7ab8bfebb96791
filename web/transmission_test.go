package web

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/web/transmission"
)

// TestTransmissionMounted: the RPC is served inside the API's chain — Host
// check and all — and keeps Transmission's own CSRF defence (the session
// id) instead of the API's cross-origin refusal, so browser-based remotes
// behave as with Transmission while a cross-site page still cannot act.
func TestTransmissionMounted(t *testing.T) {
	e, _ := startEngine(t)
	rpc := transmission.NewHandler(transmission.Options{Engine: e, Logger: enginetest.Logger(t)})
	srv := httptest.NewServer(NewHandler(Options{Engine: e, Logger: enginetest.Logger(t), Transmission: rpc}))
	defer srv.Close()
	tt := makeTorrent(t, t.TempDir(), "mounted", 1000)
	add := `{"method":"torrent-add","arguments":{"paused":true,"metainfo":"` + base64.StdEncoding.EncodeToString(tt.Metainfo) + `"}}`

	post := func(path, host, sid, site string) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(add))
		if host != "" {
			req.Host = host
		}
		if sid != "" {
			req.Header.Set(transmission.HeaderSessionID, sid)
		}
		if site != "" {
			req.Header.Set("Sec-Fetch-Site", site)
			req.Header.Set("Origin", "https://evil.example")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// A cross-site page gets the 409 (whose id it cannot read), not a 403.
	code, h := post("/transmission/rpc", "", "", "cross-site")
	sid := h.Get(transmission.HeaderSessionID)
	if code != http.StatusConflict || sid == "" {
		t.Fatalf("cross-site POST without session id = %d, want 409 with the id", code)
	}
	if n := len(e.List()); n != 0 {
		t.Fatalf("cross-site POST added %d torrents", n)
	}
	// The API itself still refuses cross-site requests.
	if code, _ := post("/api/v1/torrents", "", "", "cross-site"); code != http.StatusForbidden {
		t.Errorf("cross-site POST to the API = %d, want 403", code)
	}
	// The Host check covers the RPC: a rebinding name is refused even with the id.
	if code, _ := post("/transmission/rpc", "attacker.example", sid, ""); code != http.StatusMisdirectedRequest {
		t.Errorf("foreign Host = %d, want 421", code)
	}
	if code, _ := post("/transmission/rpc/", "", sid, ""); code != http.StatusOK || len(e.List()) != 1 {
		t.Errorf("POST %s/ with the id = %d, %d torrents; want 200 and the torrent added", transmission.Path, code, len(e.List()))
	}
	if code, _ := post("/transmission/rpc/x", "", sid, ""); code != http.StatusNotFound {
		t.Errorf("POST below the RPC path = %d, want 404", code)
	}
}
