package lan

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/mutable"
)

func TestEndpoint(t *testing.T) {
	c := newChannel(t, "photos")
	it := c.item(t, 4)
	d := newDevice(t, "dev1", 51413, newHolder(it))
	target := c.target()
	tok := queryToken(target, "dev1")
	hexT := hex.EncodeToString(tok[:])

	get := func(method, path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, d.srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	resp, body := get("GET", ItemsPath+hexT)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET held target = %s %q, want 200 JSON", resp.Status, body)
	}
	got, port, err := decodeItem(bytes.NewReader(body), target)
	if err != nil || port != 51413 || got.Seq != 4 || !bytes.Equal(got.Value, it.Value) || got.Sig != it.Sig || !bytes.Equal(got.Salt, it.Salt) {
		t.Errorf("decodeItem(answer) = seq %d port %d, %v; want the held item (seq 4) and port 51413", got.Seq, port, err)
	}
	var fields map[string]any
	json.Unmarshal(body, &fields)
	for _, k := range []string{"key", "salt", "seq", "value", "sig", "peerPort", "target"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("answer lacks %q: %s", k, body)
		}
	}
	if len(fields) != 7 {
		t.Errorf("answer has %d fields, want exactly 7: %s", len(fields), body)
	}

	if resp, b := get("HEAD", ItemsPath+hexT); resp.StatusCode != 200 || len(b) != 0 {
		t.Errorf("HEAD = %s with %d bytes, want 200 and no body", resp.Status, len(b))
	}
	other := queryToken(newChannel(t, "").target(), "dev1")
	otherID := queryToken(target, "dev2")
	advertised := tag(target, "dev1")
	for _, tt := range []struct {
		method, path string
		code         int
	}{
		{"GET", ItemsPath + hex.EncodeToString(other[:]), 404},
		{"GET", ItemsPath + hex.EncodeToString(otherID[:]), 404},                                 // a token for another device
		{"GET", ItemsPath + hex.EncodeToString(target[:]), 400},                                  // the target itself is never asked for
		{"GET", ItemsPath + hex.EncodeToString(append(advertised[:], make([]byte, 26)...)), 404}, // the public tag is no key
		{"GET", ItemsPath + hexT + "?x=1", 400},
		{"GET", ItemsPath + strings.ToUpper(hexT), 400},
		{"GET", ItemsPath + hexT[:62], 400},
		{"GET", ItemsPath + hexT + "00", 400},
		{"GET", ItemsPath + "zz" + hexT[2:], 400},
		{"GET", ItemsPath, 400},
		{"POST", ItemsPath + hexT, 405},
		{"DELETE", ItemsPath + hexT, 405},
	} {
		resp, b := get(tt.method, tt.path)
		if resp.StatusCode != tt.code {
			t.Errorf("%s %s = %s %q, want %d", tt.method, tt.path, resp.Status, b, tt.code)
		}
		if resp.StatusCode != 200 && bytes.Contains(b, []byte(hex.EncodeToString(it.Sig[:]))) {
			t.Errorf("%s %s leaks the item: %s", tt.method, tt.path, b)
		}
	}

	// A newer version is served once the holder has it and the source
	// read it.
	it5 := c.item(t, 5)
	d.holder.set(it5)
	d.src.refreshHeld()
	_, body = get("GET", ItemsPath+hexT)
	if got, _, err := decodeItem(bytes.NewReader(body), target); err != nil || got.Seq != 5 {
		t.Errorf("after a new version: seq %d, %v; want 5", got.Seq, err)
	}
}

func TestEndpointRateLimit(t *testing.T) {
	c := newChannel(t, "")
	d := newDevice(t, "dev1", 1, newHolder(c.item(t, 1)))
	tok := queryToken(c.target(), "dev1")
	path := ItemsPath + hex.EncodeToString(tok[:])
	do := func(remote string) int {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = remote
		w := httptest.NewRecorder()
		d.src.Handler().ServeHTTP(w, r)
		if w.Code == 429 && w.Header().Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After")
		}
		return w.Code
	}
	ok := 0
	for range 2 * perAddrBurst {
		if do("192.168.1.7:4000") == 200 {
			ok++
		}
	}
	// A few tokens come back while the loop runs.
	if ok < perAddrBurst || ok > perAddrBurst+5 {
		t.Errorf("%d of %d quick requests from one address answered, want about the burst %d", ok, 2*perAddrBurst, perAddrBurst)
	}
	if code := do("192.168.1.8:4000"); code != 200 {
		t.Errorf("another address after the first was limited = %d, want 200", code)
	}
	// IPv6: one host's addresses in its /64 share a bucket.
	ok = 0
	for i := range 2 * perAddrBurst {
		if do(fmt.Sprintf("[fd00:1:2:3:%x::1]:4000", i+1)) == 200 {
			ok++
		}
	}
	if ok > perAddrBurst+5 {
		t.Errorf("%d of %d quick requests from one /64 answered, want about the burst %d", ok, 2*perAddrBurst, perAddrBurst)
	}
	if code := do("[fd00:1:2:4::1]:4000"); code != 200 {
		t.Errorf("another /64 after the first was limited = %d, want 200", code)
	}
	// Everyone together: the total limit.
	limited := 0
	for i := range 3 * totalBurst {
		if do(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)}), 4000).String()) == 429 {
			limited++
		}
	}
	if limited == 0 {
		t.Errorf("%d requests from many addresses, none limited; want the total limit (%d burst) to apply", 3*totalBurst, totalBurst)
	}
	if n := len(d.src.limit.addrs); n > maxTracked {
		t.Errorf("limiter tracks %d addresses, more than %d", n, maxTracked)
	}
}

// TestDecodeHostile: what a neighbour may send and must not get through.
func TestDecodeHostile(t *testing.T) {
	c := newChannel(t, "s")
	it := c.item(t, 3)
	target := c.target()
	good := toWire(it, 6881)
	enc := func(w wireItem) string {
		b, _ := json.Marshal(w)
		return string(b)
	}
	with := func(f func(*wireItem)) string {
		w := good
		f(&w)
		return enc(w)
	}
	other := newChannel(t, "s").item(t, 9)
	tamper := it
	tamper.Value = mutable.InfohashValue([20]byte{1})
	tests := []struct {
		name, body string
	}{
		{"empty", ""},
		{"not JSON", "<html>hello</html>"},
		{"array", "[" + enc(good) + "]"},
		{"two objects", enc(good) + enc(good)},
		{"trailing junk", enc(good) + "x"},
		{"unknown field", strings.Replace(enc(good), `{`, `{"extra":1,`, 1)},
		{"oversized", strings.Replace(enc(good), `"salt"`, `"pad":"`+strings.Repeat("a", maxResponse)+`","salt"`, 1)},
		{"short key", with(func(w *wireItem) { w.Key = w.Key[:62] })},
		{"uppercase-free bad hex key", with(func(w *wireItem) { w.Key = "zz" + w.Key[2:] })},
		{"short sig", with(func(w *wireItem) { w.Sig = w.Sig[:100] })},
		{"salt too long", with(func(w *wireItem) { w.Salt = strings.Repeat("ab", 65) })},
		{"salt odd hex", with(func(w *wireItem) { w.Salt = "abc" })},
		{"value not base64", with(func(w *wireItem) { w.Value = "!!!" })},
		{"value too long", with(func(w *wireItem) { w.Value = strings.Repeat("QUFB", 400) })},
		{"negative seq", with(func(w *wireItem) { w.Seq = -1 })},
		{"other seq (signature no longer matches)", with(func(w *wireItem) { w.Seq = 4 })},
		{"tampered value", enc(toWire(tamper, 6881))},
		{"another channel's valid item", enc(toWire(other, 6881))},
		{"another channel's item claiming our target", with(func(w *wireItem) {
			o := toWire(other, 6881)
			o.Target = w.Target
			*w = o
		})},
		{"wrong target echo", with(func(w *wireItem) { w.Target = strings.Repeat("0", 40) })},
		{"peer port too big", with(func(w *wireItem) { w.PeerPort = 70000 })},
		{"negative peer port", with(func(w *wireItem) { w.PeerPort = -1 })},
		{"seq not a number", strings.Replace(enc(good), `"seq":3`, `"seq":"3"`, 1)},
		{"seq overflows", strings.Replace(enc(good), `"seq":3`, `"seq":99999999999999999999`, 1)},
	}
	for _, tt := range tests {
		if _, _, err := decodeItem(strings.NewReader(tt.body), target); err == nil {
			t.Errorf("%s: decodeItem accepted %.200q", tt.name, tt.body)
		}
	}
	if got, port, err := decodeItem(strings.NewReader(enc(good)), target); err != nil || port != 6881 || got.Seq != 3 {
		t.Errorf("decodeItem(good) = seq %d port %d, %v", got.Seq, port, err)
	}
	// No salt: "" in JSON, nil item salt, same target.
	plain := newChannel(t, "")
	pit := plain.item(t, 1)
	if got, _, err := decodeItem(strings.NewReader(enc(toWire(pit, 0))), plain.target()); err != nil || got.Salt != nil {
		t.Errorf("decodeItem(unsalted) = salt %q, %v", got.Salt, err)
	}
}

// TestFetchHostileServer: a neighbour that answers badly at the HTTP
// level: errors, redirects (never followed), endless bodies, silence.
func TestFetchHostileServer(t *testing.T) {
	c := newChannel(t, "")
	target := c.target()
	good := toWire(c.item(t, 1), 1)
	var redirected bool
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected = true
		json.NewEncoder(w).Encode(good)
	}))
	t.Cleanup(elsewhere.Close)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	handlers := map[string]http.HandlerFunc{
		"500": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
		"redirect": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.Path, http.StatusFound)
		},
		"endless body": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"key":"`))
			for range 1 << 10 {
				if _, err := w.Write(bytes.Repeat([]byte("a"), 1<<10)); err != nil {
					return
				}
			}
		},
		"silent": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		},
		"404": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
	}
	s, err := New(Options{ID: "me", FetchTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.onLink = func(a netip.Addr) bool { return a.IsLoopback() }
	for name, h := range handlers {
		srv := httptest.NewServer(h)
		ap := netip.MustParseAddrPort(srv.Listener.Addr().String())
		n := neighbour{instance: name, addrs: []netip.Addr{ap.Addr()}, port: int(ap.Port())}
		start := time.Now()
		_, _, err := s.fetch(context.Background(), n, target)
		if err == nil {
			t.Errorf("%s: fetch succeeded", name)
		}
		if name == "404" && !errors.Is(err, errNotHeld) {
			t.Errorf("404: fetch = %v, want errNotHeld", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: fetch took %s; the timeout is 500 ms", name, d)
		}
		srv.Close()
	}
	if redirected {
		t.Error("a redirect was followed")
	}
}
