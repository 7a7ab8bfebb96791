package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/access"
)

const (
	lanAddr  = "192.168.1.20:50000"
	lan2Addr = "192.168.1.21:50000"
	loAddr   = "127.0.0.1:50000"
)

// authEnv is a handler with access control over a real engine; every
// response body and log line is kept so tests can look for secrets.
type authEnv struct {
	t    *testing.T
	h    http.Handler
	ac   *access.Controller
	logs *lockedBuf
	mu   sync.Mutex
	seen []string // response bodies
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newAuthEnv(t *testing.T, tweak ...func(*Options)) *authEnv {
	t.Helper()
	e, _ := startEngine(t)
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := &authEnv{t: t, logs: &lockedBuf{}}
	log := slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env.ac, err = access.New(access.Options{Store: st, Pairing: true, Logger: log,
		KDF: access.KDFParams{Time: 1, MemKiB: 64, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Engine: e, Logger: log, Access: env.ac, TrustLoopback: true,
		AllowedHosts: []string{"nas", "*.home.arpa"}}
	for _, f := range tweak {
		f(&o)
	}
	env.h = NewHandler(o)
	return env
}

// req sends one request from remote; hdr is header name, value pairs.
func (e *authEnv) req(method, path, remote string, body any, hdr ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	q := httptest.NewRequest(method, "http://127.0.0.1:9091"+path, r)
	q.RemoteAddr = remote
	if body != nil {
		q.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			q.Host = hdr[i+1]
			continue
		}
		q.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, q)
	e.mu.Lock()
	e.seen = append(e.seen, w.Body.String())
	e.mu.Unlock()
	return w
}

func (e *authEnv) expect(w *httptest.ResponseRecorder, code int, what string) {
	e.t.Helper()
	if w.Code != code {
		e.t.Errorf("%s = %d %s, want %d", what, w.Code, strings.TrimSpace(w.Body.String()), code)
	}
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

func TestAuthLoopbackAndBasic(t *testing.T) {
	e := newAuthEnv(t)
	e.expect(e.req("GET", "/api/v1/torrents", loAddr, nil), 200, "loopback, no credentials")
	e.expect(e.req("GET", "/api/v1/torrents", "[::1]:5000", nil), 200, "::1, no credentials")

	w := e.req("GET", "/api/v1/torrents", lanAddr, nil)
	e.expect(w, 401, "LAN, no credentials")
	if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="Hearth"`) {
		t.Errorf("401 WWW-Authenticate = %q, want a Basic challenge (Transmission remotes need it to prompt)", got)
	}
	// Every path, including ones this handler does not serve (the
	// Transmission RPC here, unknown paths), is behind the check: 401, not 404.
	for _, p := range []string{"/transmission/rpc", "/nope", "/ui", "/tvx", "/api/v1/devices", "/api/v1/pair", "/api/v1/access"} {
		e.expect(e.req("GET", p, lanAddr, nil), 401, "LAN GET "+p)
	}
	// The web UI's pages and assets hold no data: they load without
	// credentials so that they can show the login and pairing screens.
	for _, p := range []string{"/", "/tv", "/ui/index.html"} {
		e.expect(e.req("GET", p, lanAddr, nil), 200, "LAN GET "+p)
	}
	e.expect(e.req("POST", "/", lanAddr, nil), 401, "LAN POST /")
	e.expect(e.req("POST", "/transmission/rpc", lanAddr, nil), 401, "LAN POST /transmission/rpc")

	// Set the password from loopback.
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "short"}), 400, "short password")
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "correct horse"}), 200, "set password")
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", basicAuth("admin", "correct horse")), 200, "right password")
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", basicAuth("admin", "wrong horse")), 401, "wrong password")
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", "Basic !!!"), 401, "malformed Basic")
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", "Digest x"), 401, "unknown scheme")
	// A remote caller cannot set the password without logging in.
	e.expect(e.req("PUT", "/api/v1/password", lanAddr, map[string]string{"user": "evil", "password": "evil password"}), 401, "LAN PUT /password")
	var st accessStatus
	w = e.req("GET", "/api/v1/access", lanAddr, nil, "Authorization", basicAuth("admin", "correct horse"))
	json.Unmarshal(w.Body.Bytes(), &st)
	if !st.PasswordSet || st.User != "admin" || st.You.Kind != access.KindPassword || !st.TrustLoopback {
		t.Errorf("GET /access = %s, want password set for admin, you=password", w.Body)
	}
	e.noSecrets("correct horse", "wrong horse", "evil password")
}

func TestAuthRateLimit(t *testing.T) {
	e := newAuthEnv(t)
	e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "correct horse"})
	var w *httptest.ResponseRecorder
	for range 11 {
		w = e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", basicAuth("admin", "guess"))
	}
	e.expect(w, 429, "11th wrong password")
	if w.Header().Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	e.expect(e.req("GET", "/api/v1/torrents", lan2Addr, nil, "Authorization", basicAuth("admin", "correct horse")), 200, "another address")
	// Without credentials a limited client still learns it needs them.
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil), 401, "limited client without credentials")
}

func TestAuthTrustLoopbackOff(t *testing.T) {
	e := newAuthEnv(t, func(o *Options) { o.TrustLoopback = false })
	e.expect(e.req("GET", "/api/v1/torrents", loAddr, nil), 401, "loopback untrusted")
	// Bootstrap: with no credentials anywhere, the device itself may set the first password.
	e.expect(e.req("PUT", "/api/v1/password", lanAddr, map[string]string{"user": "admin", "password": "correct horse"}), 401, "bootstrap from the LAN")
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "correct horse"}), 200, "bootstrap from loopback")
	e.expect(e.req("PUT", "/api/v1/password", loAddr, map[string]string{"user": "admin", "password": "other horse"}), 401, "second PUT without credentials")
	e.expect(e.req("GET", "/api/v1/torrents", loAddr, nil, "Authorization", basicAuth("admin", "correct horse")), 200, "loopback with password")
}

func TestAuthClientsAndHosts(t *testing.T) {
	e := newAuthEnv(t, func(o *Options) { o.Clients = []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")} })
	e.expect(e.req("GET", "/api/v1/torrents", "10.0.0.5:1", nil), 403, "address outside access.clients")
	e.expect(e.req("POST", "/api/v1/pair", "10.0.0.5:1", map[string]string{"name": "x"}), 403, "pairing from outside access.clients")
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil), 401, "address inside access.clients, no credentials")
	e.expect(e.req("GET", "/api/v1/torrents", loAddr, nil), 200, "loopback (always allowed)")

	for _, tc := range []struct {
		host string
		code int
	}{
		{"127.0.0.1:9091", 200}, {"localhost:9091", 200}, {"[::1]:9091", 200}, {"192.168.1.2:9091", 200},
		{"nas:9091", 200}, {"NAS.local", 200}, {"living-room.local:9091", 200}, {"box.home.arpa", 200},
		{"evil.example:9091", 421}, {"home.arpa", 421}, {"nas.evil.example", 421}, {"local", 421},
	} {
		e.expect(e.req("GET", "/api/v1/torrents", loAddr, nil, "Host", tc.host), tc.code, "Host "+tc.host)
	}
}

func TestPairOverHTTP(t *testing.T) {
	e := newAuthEnv(t)
	var tk struct {
		access.PairTicket
		Message string
	}
	w := e.req("POST", "/api/v1/pair", lanAddr, map[string]string{"name": "Anna's phone"})
	e.expect(w, 202, "POST /pair")
	json.Unmarshal(w.Body.Bytes(), &tk)
	if tk.ID == "" || tk.Secret == "" || strings.Contains(w.Body.String(), `"code"`) {
		t.Fatalf("POST /pair = %s, want an id and a secret, no code", w.Body)
	}
	e.expect(e.req("GET", "/api/v1/pair", lanAddr, nil), 401, "LAN GET /pair (the codes)")
	var list pairList
	w = e.req("GET", "/api/v1/pair", loAddr, nil)
	json.Unmarshal(w.Body.Bytes(), &list)
	if len(list.Requests) != 1 || len(list.Requests[0].Code) != 6 {
		t.Fatalf("GET /pair from loopback = %s, want the request with its code", w.Body)
	}
	code := list.Requests[0].Code
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret}), 202, "poll before the code")
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID+"/approve", lanAddr, nil), 401, "LAN approving its own request")
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret, "code": wrong}), 403, "wrong code")
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": "nope", "code": code}), 404, "wrong secret")
	w = e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret, "code": code})
	e.expect(w, 200, "right code")
	var p paired
	json.Unmarshal(w.Body.Bytes(), &p)
	if !access.LooksLikeToken(p.Token) || p.Device.Name != "Anna's phone" {
		t.Fatalf("pairing answer = %s", w.Body)
	}
	tokenAnswer := w.Body.String()

	bearer := "Bearer " + p.Token
	e.expect(e.req("GET", "/api/v1/torrents", lan2Addr, nil, "Authorization", bearer), 200, "Bearer token")
	e.expect(e.req("GET", "/api/v1/torrents", lan2Addr, nil, "Authorization", basicAuth("anything", p.Token)), 200, "token as Basic password")
	e.expect(e.req("GET", "/api/v1/torrents", lan2Addr, nil, "Authorization", "bearer "+p.Token), 200, "lowercase bearer")
	var devs deviceList
	w = e.req("GET", "/api/v1/devices", lan2Addr, nil, "Authorization", bearer)
	json.Unmarshal(w.Body.Bytes(), &devs)
	if len(devs.Devices) != 1 || devs.Devices[0].ID != p.Device.ID {
		t.Errorf("GET /devices = %s", w.Body)
	}
	e.expect(e.req("DELETE", "/api/v1/devices/"+p.Device.ID, loAddr, nil), 200, "revoke")
	e.expect(e.req("GET", "/api/v1/torrents", lan2Addr, nil, "Authorization", bearer), 401, "revoked token")
	e.expect(e.req("DELETE", "/api/v1/devices/"+p.Device.ID, loAddr, nil), 404, "revoke twice")

	// Approve and deny from a trusted caller; the window (button) from the API.
	w = e.req("POST", "/api/v1/pair", lanAddr, map[string]string{"name": "tv"})
	json.Unmarshal(w.Body.Bytes(), &tk)
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID+"/approve", loAddr, nil), 200, "approve")
	w = e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret})
	e.expect(w, 200, "collect after approval")
	json.Unmarshal(w.Body.Bytes(), &p)
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil, "Authorization", "Bearer "+p.Token), 200, "approved token")
	tokenAnswer2 := w.Body.String()

	e.expect(e.req("PUT", "/api/v1/pair/window", loAddr, map[string]int{"seconds": 60}), 200, "open window")
	w = e.req("POST", "/api/v1/pair", lanAddr, map[string]string{"name": "button phone"})
	json.Unmarshal(w.Body.Bytes(), &tk)
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret}), 200, "collect after the window")
	e.expect(e.req("PUT", "/api/v1/pair/window", loAddr, map[string]int{"seconds": 0}), 400, "window of 0 s")
	e.expect(e.req("DELETE", "/api/v1/pair/window", loAddr, nil), 200, "close window")

	w = e.req("POST", "/api/v1/pair", lanAddr, map[string]string{"name": "junk"})
	json.Unmarshal(w.Body.Bytes(), &tk)
	e.expect(e.req("DELETE", "/api/v1/pair/"+tk.ID, loAddr, nil), 200, "deny")
	e.expect(e.req("POST", "/api/v1/pair/"+tk.ID, lanAddr, map[string]string{"secret": tk.Secret, "code": "123456"}), 404, "denied request")
	e.expect(e.req("POST", "/api/v1/pair", lanAddr, map[string]string{"name": ""}), 400, "empty name")
	e.expect(e.req("POST", "/api/v1/pair", lanAddr, map[string]any{"name": 5}), 400, "name not a string")

	// Secrets (the token, the request secret) appear in the one answer
	// that hands them out and nowhere else: not in logs, not in listings.
	e.mu.Lock()
	var others []string
	for _, b := range e.seen {
		if b != tokenAnswer && b != tokenAnswer2 && !strings.Contains(b, `"secret"`) {
			others = append(others, b)
		}
	}
	e.mu.Unlock()
	all := strings.Join(others, "\n") + e.logs.String()
	for _, s := range []string{p.Token, tk.Secret} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q appears in a log line or another response", s)
		}
	}
}

func TestPairingWithoutAccess(t *testing.T) {
	e := newAuthEnv(t, func(o *Options) { o.Access = nil })
	e.expect(e.req("GET", "/api/v1/torrents", lanAddr, nil), 200, "no access control: LAN trusted")
	e.expect(e.req("GET", "/api/v1/devices", lanAddr, nil), 404, "GET /devices without access control")
}

func TestPublicEndpoint(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v1/pair", true},
		{"POST", "/api/v1/pair/abc234", true},
		{"GET", "/api/v1/pair", false},
		{"GET", "/api/v1/pair/abc234", false},
		{"DELETE", "/api/v1/pair/abc234", false},
		{"POST", "/api/v1/pair/abc234/approve", false},
		{"PUT", "/api/v1/pair/window", false},
		{"POST", "/api/v1/pair/", false},
		{"POST", "/api/v1/pairx", false},
		{"POST", "/api/v1/pair/../torrents", false},
		{"POST", "/api/v1/pair/..", false},
		{"POST", "/api/v1//pair", false},
		{"POST", "/api/v1/torrents", false},
	} {
		r := httptest.NewRequest(tc.method, "http://h"+tc.path, nil)
		r.URL.Path = tc.path
		if got := publicEndpoint(r); got != tc.want {
			t.Errorf("publicEndpoint(%s %s) = %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestDeviceHostNames(t *testing.T) {
	got := DeviceHostNames("Living-Room.lan")
	want := []string{"living-room.lan", "living-room", "living-room.local"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("DeviceHostNames = %v, want %v", got, want)
	}
	if got := DeviceHostNames(""); got != nil {
		t.Errorf("DeviceHostNames(\"\") = %v, want nil", got)
	}
}

// noSecrets checks that none of secrets appears in a response or the log.
func (e *authEnv) noSecrets(secrets ...string) {
	e.t.Helper()
	e.mu.Lock()
	all := strings.Join(e.seen, "\n")
	e.mu.Unlock()
	all += e.logs.String()
	for _, s := range secrets {
		if strings.Contains(all, s) {
			e.t.Errorf("secret %q appears in a response or the log", s)
		}
	}
}

// FuzzAuthorization sends arbitrary Authorization headers from the LAN:
// the middleware must answer 401 or 429 (never let one in, never fail).
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{"", "Basic", "Basic ", basicAuth("admin", "x"), basicAuth("", ""), "Bearer ", "Bearer hth_",
		"Bearer hth_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bearer\tx", "Basic " + base64.StdEncoding.EncodeToString([]byte("a:hth_x")), "\x00"} {
		f.Add(s)
	}
	st, _ := store.Open(store.Options{Backend: store.BackendMemory})
	ac, _ := access.New(access.Options{Store: st, Pairing: true, KDF: access.KDFParams{Time: 1, MemKiB: 8, Threads: 1}})
	ac.SetPassword(context.Background(), "admin", "correct horse")
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := (&api{log: slog.New(slog.DiscardHandler), access: ac}).authenticate(ok)
	f.Fuzz(func(t *testing.T, hdr string) {
		r := httptest.NewRequest("GET", "http://127.0.0.1/api/v1/torrents", nil)
		r.RemoteAddr = "192.168.1.9:1"
		r.Header["Authorization"] = []string{hdr}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 401 && w.Code != 429 {
			t.Errorf("Authorization %q = %d %s, want 401 or 429", hdr, w.Code, w.Body)
		}
	})
}
