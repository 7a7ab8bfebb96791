package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/web/access"
)

// sessionCookieFrom returns the hearth_session cookie a response sets.
func sessionCookieFrom(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

func TestSessionPasswordLogin(t *testing.T) {
	e := newAuthEnv(t)
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "correct horse"}), 200, "set password")

	const ua = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"
	w := e.req("POST", "/api/v1/session", lanAddr, map[string]string{"user": "admin", "password": "correct horse"}, "User-Agent", ua)
	e.expect(w, 200, "login with the password")
	c := sessionCookieFrom(t, w)
	if c == nil {
		t.Fatalf("login: no %s cookie in %q", sessionCookie, w.Header().Values("Set-Cookie"))
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge < 300*24*3600 || !access.LooksLikeToken(c.Value) {
		t.Errorf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, a year, a token", c)
	}
	var si sessionInfo
	json.Unmarshal(w.Body.Bytes(), &si)
	if si.You.Kind != access.KindToken || si.You.Device == "" || si.You.Name != "Chromium on Linux" {
		t.Errorf("login answer = %s, want a token identity named Chromium on Linux", w.Body)
	}
	devs := e.ac.Devices()
	if len(devs) != 1 || devs[0].ID != si.You.Device {
		t.Fatalf("devices after login = %+v, want the session's device", devs)
	}
	cookie := sessionCookie + "=" + c.Value

	// Only the cookie, from the LAN.
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Cookie", cookie), 200, "GET /torrents with the cookie")
	w = e.req("GET", "/api/v1/session", lanAddr, nil, "Cookie", cookie)
	e.expect(w, 200, "GET /session with the cookie")
	json.Unmarshal(w.Body.Bytes(), &si)
	if si.Trusted || si.You.Device != devs[0].ID {
		t.Errorf("GET /session = %s, want the device, not trusted", w.Body)
	}
	e.expect(e.req("GET", "/api/v1/session", lanAddr, nil), 401, "GET /session without the cookie")
	w = e.req("GET", "/api/v1/session", loAddr, nil)
	e.expect(w, 200, "GET /session from loopback")
	json.Unmarshal(w.Body.Bytes(), &si)
	if !si.Trusted {
		t.Errorf("GET /session from loopback = %s, want trusted", w.Body)
	}

	// A page on another site cannot use it for a state-changing request.
	e.expect(e.req("POST", "/api/v1/torrents/1/pause", lanAddr, nil, "Cookie", cookie, "Sec-Fetch-Site", "cross-site"), 403, "cross-site POST with the cookie")
	e.expect(e.req("DELETE", "/api/v1/session", lanAddr, nil, "Cookie", cookie, "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site"), 403, "cross-site logout")
	e.expect(e.req("POST", "/api/v1/session", lanAddr, map[string]string{"user": "admin", "password": "correct horse"}, "Sec-Fetch-Site", "cross-site"), 403, "cross-site login")

	// Logging in again from the same browser replaces its device.
	w = e.req("POST", "/api/v1/session", lanAddr, map[string]string{"user": "admin", "password": "correct horse"}, "Cookie", cookie, "User-Agent", ua)
	e.expect(w, 200, "second login")
	c2 := sessionCookieFrom(t, w)
	if c2 == nil || c2.Value == c.Value {
		t.Fatalf("second login cookie = %+v, want a new token", c2)
	}
	if n := len(e.ac.Devices()); n != 1 {
		t.Errorf("devices after a second login from the same browser = %d, want 1", n)
	}
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Cookie", cookie), 401, "the replaced cookie")
	cookie = sessionCookie + "=" + c2.Value

	// Logout revokes the device and clears the cookie.
	w = e.req("DELETE", "/api/v1/session", lanAddr, nil, "Cookie", cookie)
	e.expect(w, 200, "logout")
	if c := sessionCookieFrom(t, w); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout cookie = %+v, want it cleared", c)
	}
	if n := len(e.ac.Devices()); n != 0 {
		t.Errorf("devices after logout = %d, want 0", n)
	}
	w = e.req("GET", "/api/v1/torrents", lanAddr, nil, "Cookie", cookie)
	e.expect(w, 401, "GET /torrents with the revoked cookie")
	if c := sessionCookieFrom(t, w); c == nil || c.MaxAge >= 0 {
		t.Errorf("401 for a revoked cookie: cookie = %+v, want it cleared", c)
	}
	e.noSecrets("correct horse", c.Value, c2.Value)
}

func TestSessionTokenLogin(t *testing.T) {
	e := newAuthEnv(t)
	_, tok, err := e.ac.NewDevice("TV", netip.MustParseAddr("192.168.1.20"))
	if err != nil {
		t.Fatal(err)
	}
	w := e.req("POST", "/api/v1/session", lanAddr, map[string]string{"token": tok})
	e.expect(w, 200, "login with a token")
	c := sessionCookieFrom(t, w)
	if c == nil || c.Value != tok {
		t.Fatalf("token login cookie = %+v, want the token", c)
	}
	if n := len(e.ac.Devices()); n != 1 {
		t.Errorf("devices after a token login = %d, want 1 (no new device)", n)
	}
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Cookie", sessionCookie+"="+tok), 200, "cookie from a token login")
	e.expect(e.req("POST", "/api/v1/session", lanAddr, map[string]string{"token": "hth_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}), 401, "unknown token")
	e.expect(e.req("POST", "/api/v1/session", lanAddr, map[string]string{"token": "nope"}), 400, "not a token")
	e.expect(e.req("POST", "/api/v1/session", lanAddr, map[string]string{}), 400, "empty body")
	e.noSecrets(tok)
}

func TestSessionWrongPassword(t *testing.T) {
	e := newAuthEnv(t)
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "correct horse"}), 200, "set password")
	var w *httptest.ResponseRecorder
	for i := range 11 {
		w = e.req("POST", "/api/v1/session", lanAddr, map[string]string{"user": "admin", "password": "wrong horse"})
		if i < 10 {
			e.expect(w, 401, "wrong password")
			if c := sessionCookieFrom(t, w); c != nil {
				t.Errorf("wrong password set a cookie: %+v", c)
			}
		}
	}
	e.expect(w, 429, "11th wrong password")
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// The limit is the same as Basic's: this address is limited there too.
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", basicAuth("admin", "other guess")), 429, "Basic from the limited address")
	e.expect(e.req("POST", "/api/v1/session", lan2Addr, map[string]string{"user": "admin", "password": "correct horse"}), 200, "another address")
	if n := len(e.ac.Devices()); n != 1 {
		t.Errorf("devices = %d, want 1 (failed logins add none)", n)
	}
	e.noSecrets("correct horse", "wrong horse")
}

// TestNoChallengeForUIRequests: the web UI's fetches and event streams get
// a 401 without WWW-Authenticate (the browser would show its own password
// dialog over the UI); remote apps and a browser tab opening an API URL
// still get the Basic challenge.
func TestNoChallengeForUIRequests(t *testing.T) {
	e := newAuthEnv(t)
	for _, tc := range []struct {
		path, dest string
		challenge  bool
	}{
		{"/api/v1/torrents", "", true},
		{"/api/v1/torrents", "document", true},
		{"/api/v1/torrents", "empty", false},
		{"/api/v1/events", "empty", false},
		{"/stream/1/0", "video", false},
		{"/api/v1/library/thumb/1/0", "image", false},
	} {
		var hdr []string
		if tc.dest != "" {
			hdr = []string{"Sec-Fetch-Dest", tc.dest, "Sec-Fetch-Site", "same-origin"}
		}
		w := e.req("GET", tc.path, lanAddr, nil, hdr...)
		e.expect(w, 401, tc.path+" dest "+tc.dest)
		if got := w.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
			t.Errorf("GET %s with Sec-Fetch-Dest %q: challenge %v, want %v", tc.path, tc.dest, got, tc.challenge)
		}
	}
	w := e.req("POST", "/api/v1/session", lanAddr, map[string]string{"user": "admin", "password": "wrong horse"})
	e.expect(w, 401, "wrong login")
	if got := w.Header().Get("WWW-Authenticate"); got != "" {
		t.Errorf("failed login: WWW-Authenticate = %q, want none", got)
	}
}

func TestBrowserName(t *testing.T) {
	for _, tc := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"Mozilla/5.0 (Android 14; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0", "Firefox on Android"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0 TV Safari/537.36", "Samsung Internet on a TV"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on Windows"},
		{"", "Browser"},
		{strings.Repeat("\x00", 300), "Browser"},
	} {
		if got := browserName(tc.ua); got != tc.want {
			t.Errorf("browserName(%.40q) = %q, want %q", tc.ua, got, tc.want)
		}
	}
}
