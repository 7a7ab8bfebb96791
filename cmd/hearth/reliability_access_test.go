package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/web/access"
)

// strangerResp is one answer the stranger got.
type strangerResp struct {
	code   int
	body   string
	header http.Header
}

// stranger sends requests from its own namespace (not loopback: nothing
// is trusted) and keeps every answer for the secret search at the end.
type stranger struct {
	t     *testing.T
	hc    *http.Client
	base  string
	seen  strings.Builder
	count int
}

func newStranger(t *testing.T, ns *netns.NS, base string) *stranger {
	hc := &http.Client{
		Transport:     &http.Transport{DialContext: ns.DialContext, DisableKeepAlives: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &stranger{t: t, hc: hc, base: base}
}

// do sends one request; hdr entries are "Key: value", "Host: x" sets the Host.
func (s *stranger) do(method, path, body string, hdr ...string) strangerResp {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		s.t.Fatalf("request %s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s from the stranger: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	s.count++
	fmt.Fprintf(&s.seen, "%s %s -> %d\n", method, path, resp.StatusCode)
	for k, vs := range resp.Header {
		fmt.Fprintf(&s.seen, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	s.seen.Write(b)
	s.seen.WriteByte('\n')
	return strangerResp{resp.StatusCode, string(b), resp.Header}
}

// owner is the device's own loopback client (trusted, as its CLI is).
type owner struct {
	t  *testing.T
	hc *http.Client
	d  *nsDaemon
}

func (o owner) call(method, path, body string, out any) (int, http.Header) {
	o.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, o.d.api+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.hc.Do(req)
	if err != nil {
		o.t.Fatalf("owner %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			o.t.Fatalf("owner %s %s = %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, resp.Header
}

// webRoutes reads the method patterns that web registers, from its
// source: a route added later and not probed here fails the test.
func webRoutes(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob("../../web/*.go")
	re := regexp.MustCompile(`Handle\("((?:GET|POST|PUT|PATCH|DELETE|HEAD) /[^"]*)"`)
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			if !seen[m[1]] {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	if len(out) < 50 {
		t.Fatalf("found %d routes in web/*.go; the pattern no longer matches how routes are registered", len(out))
	}
	sort.Strings(out)
	return out
}

// TestReliabilityAccess: a daemon with a password and a paired device,
// listening on every interface of its namespace; a stranger's phone in
// two other namespaces probes every route of every interface without
// credentials, with forged ones, with a foreign Host header, guesses
// passwords, pairing codes and share tokens, and the test searches all it
// got back for secrets. Nothing may change on the device.
func TestReliabilityAccess(t *testing.T) {
	netns.Require(t)
	dev, ph, ph2 := netns.New(t, "device"), netns.New(t, "stranger"), netns.New(t, "stranger2")
	devAddr, _ := netns.Link(t, dev, ph, "")
	devAddr2, _ := netns.Link(t, dev, ph2, "")
	d, port := startLANDaemon(t, dev)
	ctx := context.Background()
	o := owner{t: t, hc: nsClient(dev), d: d}

	// The owner's state: a password, a paired phone, a browser session,
	// two torrents (one shared), a channel, a signed stream link.
	const password = "correct horse battery"
	if code, _ := o.call("PUT", "/api/v1/password", `{"user":"admin","password":"`+password+`"}`, nil); code != 200 {
		t.Fatalf("owner PUT /password = %d", code)
	}
	var tk access.PairTicket
	o.call("POST", "/api/v1/pair", `{"name":"owner phone"}`, &tk)
	var pl struct{ Requests []access.PairRequest }
	o.call("GET", "/api/v1/pair", "", &pl)
	if len(pl.Requests) != 1 {
		t.Fatalf("pending pair requests = %+v, want the owner's", pl.Requests)
	}
	ownerCode := pl.Requests[0].Code
	var pd struct {
		Token  string
		Device access.Device
	}
	if code, _ := o.call("POST", "/api/v1/pair/"+tk.ID, `{"secret":"`+tk.Secret+`","code":"`+ownerCode+`"}`, &pd); code != 200 || !access.LooksLikeToken(pd.Token) {
		t.Fatalf("owner pairing = %d %+v", code, pd)
	}
	_, h := o.call("POST", "/api/v1/session", `{"user":"admin","password":"`+password+`"}`, nil)
	var cookie string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "hearth_session" {
			cookie = c.Value
		}
	}
	if cookie == "" {
		t.Fatalf("owner login set no session cookie: %v", h)
	}
	downloads := filepath.Join(d.dataDir, "downloads")
	tdir := t.TempDir()
	makeContent(t, downloads, "shared-film", filepath.Join(tdir, "a.torrent"), 200<<10)
	makeContent(t, downloads, "private-diary", filepath.Join(tdir, "b.torrent"), 100<<10)
	d.mustCLI(ctx, "add", filepath.Join(tdir, "a.torrent"))
	d.mustCLI(ctx, "add", filepath.Join(tdir, "b.torrent"))
	d.mustCLI(ctx, "channel", "create", "Secret channel")
	tokRe := regexp.MustCompile(`/s/([A-Za-z0-9_-]{24})`)
	shareTok := tokRe.FindStringSubmatch(d.mustCLI(ctx, "share", "create", "--torrent", "1"))
	otherTok := tokRe.FindStringSubmatch(d.mustCLI(ctx, "share", "create", "--torrent", "2"))
	if shareTok == nil || otherTok == nil {
		t.Fatal("share create printed no link")
	}
	var shares struct {
		Shares []struct{ ID, Token string }
	}
	o.call("GET", "/api/v1/shares", "", &shares)
	var su struct{ URL string }
	o.call("GET", "/api/v1/torrents/1/files/0/stream-url", "", &su)
	if !strings.Contains(su.URL, "sig=") {
		t.Fatalf("stream-url = %q", su.URL)
	}
	before := ownerSnapshot(o)

	st := newStranger(t, ph, fmt.Sprintf("http://%s:%d", devAddr, port))
	st2 := newStranger(t, ph2, fmt.Sprintf("http://%s:%d", devAddr2, port))

	// Every route web registers, with real ids where they take one.
	fill := strings.NewReplacer("{ref}", "1", "{index}", "0", "{torrent}", "1", "{name}", "Secret%20channel",
		"{item...}", "x", "{id}", shares.Shares[0].ID, "{token}", strings.Repeat("ab", 32), "{$}", "")
	bodies := map[string]string{"POST": `{"link":"magnet:?xt=urn:btih:` + strings.Repeat("a", 40) + `","name":"x","paths":["/etc"]}`,
		"PATCH": `{"paused":true,"downloadKBps":1}`, "PUT": `{"user":"admin","password":"hijacked pass"}`}
	unauthorised := 0
	var probed []string
	for _, r := range webRoutes(t) {
		method, pattern, _ := strings.Cut(r, " ")
		path := fill.Replace(pattern)
		if strings.HasSuffix(pattern, "/") && !strings.HasSuffix(pattern, "{$}") {
			path += "x"
		}
		probed = append(probed, r)
		pub := strings.HasPrefix(pattern, "/s/") || strings.HasPrefix(pattern, "/lan/") ||
			(method == "GET" && (pattern == "/{$}" || pattern == "/index.html" || strings.HasPrefix(pattern, "/tv") || strings.HasPrefix(pattern, "/ui/"))) ||
			(method == "POST" && (pattern == "/api/v1/session" || strings.HasPrefix(pattern, "/api/v1/pair") && !strings.HasSuffix(pattern, "/approve")))
		// DNS rebinding: a foreign Host is refused before anything else.
		if got := st.do(method, path, bodies[method], "Host: evil.example"); got.code != 421 {
			t.Errorf("%s %s with Host: evil.example = %d, want 421", method, path, got.code)
			unauthorised += b2i(got.code < 400)
		}
		if pub {
			continue // checked one by one below
		}
		for _, hdr := range [][]string{nil, {"X-Transmission-Session-Id: forged"}, {"Origin: http://evil.example"}} {
			got := st.do(method, path, bodies[method], hdr...)
			if got.code != 401 {
				t.Errorf("stranger %s %s %v = %d %.200s, want 401", method, path, hdr, got.code, got.body)
				unauthorised += b2i(got.code < 400)
			}
		}
	}
	// The Transmission RPC, with and without a session id, and the UI's
	// SSE stream.
	for _, hdr := range [][]string{nil, {"X-Transmission-Session-Id: forged"}} {
		for _, p := range []string{"/transmission/rpc", "/transmission/rpc/"} {
			for _, m := range []string{`{"method":"session-get"}`, `{"method":"torrent-get","arguments":{"fields":["id","name"]}}`,
				`{"method":"torrent-add","arguments":{"filename":"magnet:?xt=urn:btih:` + strings.Repeat("b", 40) + `"}}`, `{"method":"session-set","arguments":{"speed-limit-down":1}}`} {
				got := st.do("POST", p, m, hdr...)
				if got.code != 401 || got.header.Get("X-Transmission-Session-Id") != "" {
					t.Errorf("stranger POST %s %s %v = %d (session id %q), want 401 and no session id", p, m, hdr, got.code, got.header.Get("X-Transmission-Session-Id"))
					unauthorised += b2i(got.code < 400)
				}
			}
			if got := st.do("GET", p, ""); got.code != 401 {
				t.Errorf("stranger GET %s = %d, want 401", p, got.code)
			}
		}
	}
	probed = append(probed, "POST /transmission/rpc", "POST /transmission/rpc/")
	if got := st.do("GET", "/api/v1/events", "", "Accept: text/event-stream"); got.code != 401 {
		t.Errorf("stranger GET /api/v1/events = %d, want 401", got.code)
		unauthorised += b2i(got.code < 400)
	}

	// Public endpoints answer narrowly. forged is a well-formed token that
	// is not the owner's. Its last character carries 4 bits and 2 zero
	// padding bits (strict base64), so only A, E, I, … keep it well formed.
	forged := pd.Token[:len(pd.Token)-1] + map[bool]string{true: "A", false: "E"}[!strings.HasSuffix(pd.Token, "A")]
	if !access.LooksLikeToken(forged) || forged == pd.Token {
		t.Fatalf("test bug: forged token %q is not a well-formed other token", forged)
	}
	for _, c := range []struct {
		method, path, body string
		want               []int
	}{
		{"GET", "/", "", []int{200}},
		{"GET", "/tv", "", []int{200, 301, 308}},
		{"POST", "/api/v1/session", `{"user":"admin","password":"nope nope"}`, []int{401}},
		{"POST", "/api/v1/session", `{"token":"` + strings.Repeat("x", 43) + `"}`, []int{400}},
		{"POST", "/api/v1/session", `{"token":"` + forged + `"}`, []int{401}},
		{"GET", "/lan/v1/items/" + strings.Repeat("ab", 32), "", []int{404}},
		{"GET", "/lan/v1/items/abc", "", []int{401}},
		{"GET", "/lan/v1/items/" + strings.Repeat("ab", 32) + "?x=1", "", []int{401}},
		{"GET", "/lan/v1/peers", "", []int{401}},
		{"POST", "/lan/v1/peers", `garbage`, []int{400}},
		{"POST", "/lan/v1/peers?x=1", `{}`, []int{401}},
		{"POST", "/lan/v1/other", `{}`, []int{401}},
		{"POST", "/api/v1/pair/" + pd.Device.ID + "/approve", `{}`, []int{401}},
		{"POST", "/api/v1/pair/UPPER", `{}`, []int{401}},
	} {
		got := st2.do(c.method, c.path, c.body)
		if !containsInt(c.want, got.code) {
			t.Errorf("stranger %s %s = %d %.200s, want one of %v", c.method, c.path, got.code, got.body, c.want)
			unauthorised += b2i(got.code < 400 && !containsInt(c.want, 200))
		}
	}
	if got := st.do("GET", "/", ""); strings.Contains(got.body, "shared-film") || strings.Contains(got.body, "private-diary") {
		t.Error("the public UI page shows torrent names")
	}

	// Signed stream links: the real one opens its one file; forged,
	// expired or moved ones are refused.
	u, _ := url.Parse(su.URL)
	q := u.Query()
	if got := st.do("GET", u.RequestURI(), ""); got.code != 200 && got.code != 206 {
		t.Errorf("stranger with the owner's signed stream link = %d, want 200", got.code)
	}
	sig := q.Get("sig")
	flipped := string(rune('A'+(sig[0]-'A'+1)%26)) + sig[1:]
	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	for name, p := range map[string]string{
		"forged":        u.Path + "?exp=" + q.Get("exp") + "&sig=" + flipped,
		"expired":       u.Path + "?exp=" + strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10) + "&sig=" + sig,
		"extended":      u.Path + "?exp=" + strconv.FormatInt(exp+3600, 10) + "&sig=" + sig,
		"other torrent": strings.Replace(u.Path, "/stream/", "/stream/2x", 1) + "?" + u.RawQuery,
		"other file":    strings.TrimSuffix(u.Path, "/0") + "/1?" + u.RawQuery,
		"empty sig":     u.Path + "?exp=" + q.Get("exp") + "&sig=",
	} {
		if got := st.do("GET", p, ""); got.code != 403 {
			t.Errorf("stranger GET %s stream link %s = %d, want 403", name, p, got.code)
			unauthorised += b2i(got.code < 400)
		}
	}
	probed = append(probed, "GET /stream (signed)")

	// Share pages: the shared torrent only; guessed tokens 404 and then 429.
	sp := st.do("GET", "/s/"+shareTok[1], "")
	if sp.code != 200 || !strings.Contains(sp.body, "shared-film") || strings.Contains(sp.body, "private-diary") {
		t.Errorf("share page = %d, want 200 with shared-film and nothing of private-diary", sp.code)
	}
	for _, p := range []string{"/f/0", "/f/1", "/t/0", "/share.torrent", "/all.zip", "/../../api/v1/torrents", "/f/..%2f..%2fapi", "/f/-1"} {
		got := st.do("GET", "/s/"+shareTok[1]+p, "")
		if strings.Contains(got.body, "private-diary") {
			t.Errorf("share sub-path %s mentions the unshared torrent", p)
		}
		if strings.HasPrefix(p, "/..") && got.code < 400 && strings.Contains(got.body, "torrents") {
			t.Errorf("share path %s reached the API: %d", p, got.code)
			unauthorised++
		}
	}
	var shareCodes []int
	for i := 0; i < 30; i++ {
		b := make([]byte, 18)
		rand.Read(b)
		tok := strings.NewReplacer("+", "-", "/", "_").Replace(fmt.Sprintf("%x", b)[:24])
		got := st2.do("GET", "/s/"+tok, "")
		shareCodes = append(shareCodes, got.code)
		if got.code == 429 {
			if got.header.Get("Retry-After") == "" {
				t.Error("share token guess 429 without Retry-After")
			}
			break
		}
		if got.code != 404 && got.code != 410 {
			t.Fatalf("guessed share token %d = %d, want 404", i, got.code)
		}
	}
	if shareCodes[len(shareCodes)-1] != 429 {
		t.Errorf("30 guessed share tokens answered %v, want 404s then 429", shareCodes)
	}

	// Pairing code guesses from stranger2: 403, the request dies after
	// MaxCodeTries, then the address is limited.
	var codeAnswers []int
	guess := "000000"
	var ptk access.PairTicket
	for i := 0; i < 40; i++ {
		if i%access.MaxCodeTries == 0 {
			got := st2.do("POST", "/api/v1/pair", `{"name":"guesser"}`)
			if got.code == 429 {
				codeAnswers = append(codeAnswers, 429)
				break
			}
			json.Unmarshal([]byte(got.body), &ptk)
			var l struct{ Requests []access.PairRequest }
			o.call("GET", "/api/v1/pair", "", &l)
			for _, r := range l.Requests {
				if r.Code == guess {
					guess = "111111"
				}
			}
		}
		got := st2.do("POST", "/api/v1/pair/"+ptk.ID, `{"secret":"`+ptk.Secret+`","code":"`+guess+`"}`)
		codeAnswers = append(codeAnswers, got.code)
		if got.code == 429 {
			if got.header.Get("Retry-After") == "" {
				t.Error("pairing code 429 without Retry-After")
			}
			break
		}
		if got.code == 200 {
			t.Errorf("a wrong pairing code paired the stranger")
			unauthorised++
		}
	}
	if codeAnswers[len(codeAnswers)-1] != 429 {
		t.Errorf("wrong pairing codes answered %v, want 403s then 429", codeAnswers)
	}
	var l struct{ Requests []access.PairRequest }
	o.call("GET", "/api/v1/pair", "", &l)
	var pendingCodes []string
	for _, r := range l.Requests {
		pendingCodes = append(pendingCodes, r.Code)
	}

	// Password brute force from the stranger: wrong Basic passwords until
	// 429; then the right one is refused too while the window lasts.
	var pwAnswers []int
	for i := 0; i < 50; i++ {
		got := st.do("GET", "/api/v1/torrents", "", "Authorization: Basic "+basic("admin", fmt.Sprintf("guess %d", i)))
		pwAnswers = append(pwAnswers, got.code)
		if got.code == 429 {
			break
		}
		if got.code != 401 {
			t.Fatalf("wrong password %d = %d, want 401", i, got.code)
		}
	}
	if pwAnswers[len(pwAnswers)-1] != 429 {
		t.Fatalf("50 wrong passwords answered %v, want 401s then 429", pwAnswers)
	}
	right := st.do("GET", "/api/v1/torrents", "", "Authorization: Basic "+basic("admin", password))
	retry, _ := strconv.Atoi(right.header.Get("Retry-After"))
	if right.code != 429 || retry < 1 {
		t.Errorf("right password after the burst = %d (Retry-After %q), want 429 with Retry-After", right.code, right.header.Get("Retry-After"))
		unauthorised += b2i(right.code < 400)
	}
	rpc := st.do("POST", "/transmission/rpc", `{"method":"session-get"}`, "Authorization: Basic "+basic("admin", password))
	if rpc.code != 429 {
		t.Errorf("right password on the RPC after the burst = %d, want 429", rpc.code)
		unauthorised += b2i(rpc.code < 400)
	}
	// The owner's paired phone, from another address, is not locked out.
	if got := st2.do("GET", "/api/v1/version", "", "Authorization: Bearer "+pd.Token); got.code != 200 && got.code != 429 {
		t.Errorf("paired token from the second address = %d", got.code)
	}

	// Connection flood: the stranger opens twice the per-client bound of
	// connections and holds them. Past the bound the device closes them at
	// once; the second stranger and the owner are still answered.
	flood := 2 * maxConnsPerClient
	held, refused := floodConns(t, ph, fmt.Sprintf("%s:%d", devAddr, port), flood, func() {
		if got := st2.do("GET", "/api/v1/version", ""); got.code != 401 {
			t.Errorf("second stranger during the flood = %d, want 401", got.code)
		}
		if code, _ := o.call("GET", "/api/v1/version", "", nil); code != 200 {
			t.Errorf("owner during the flood = %d, want 200", code)
		}
	})
	if held > maxConnsPerClient || held == 0 || refused < flood-maxConnsPerClient {
		t.Errorf("stranger's %d connections: %d served, %d closed; want at most %d served, the rest closed", flood, held, refused, maxConnsPerClient)
	}

	// Nothing changed on the device.
	if after := ownerSnapshot(o); after != before {
		t.Errorf("device state changed under the stranger's requests:\nbefore %s\nafter  %s", before, after)
	}
	if code, _ := o.call("POST", "/api/v1/session", `{"user":"admin","password":"`+password+`"}`, nil); code != 200 {
		t.Errorf("owner login with the original password after the probes = %d, want 200", code)
	}
	// No secret in anything the strangers got back.
	seen := st.seen.String() + st2.seen.String()
	secrets := map[string]string{"password": password, "owner token": pd.Token, "owner pairing secret": tk.Secret,
		"owner session cookie": cookie, "unshared share token": otherTok[1]}
	for i, c := range pendingCodes {
		secrets[fmt.Sprintf("pending pairing code %d", i)] = c
	}
	for name, s := range secrets {
		if s != "" && strings.Contains(seen, s) {
			t.Errorf("a response to the stranger contains the %s", name)
		}
	}
	if log := logTail(d.logPath, 100000); strings.Contains(log, password) || strings.Contains(log, pd.Token) || strings.Contains(log, cookie) {
		t.Error("the daemon log contains the password, a token or a session cookie")
	}
	requests := st.count + st2.count
	t.Logf("%d routes probed, %d requests, %d unauthorised successes; passwords %v; codes %v; share tokens %v; %d connections held: %d served, %d closed",
		len(probed), requests, unauthorised, pwAnswers, codeAnswers, shareCodes, flood, held, refused)
	if unauthorised != 0 {
		t.Errorf("%d unauthorised successes, want 0", unauthorised)
	}
	enginetest.Report(t, "40-access", fmt.Sprintf(`## Access from a stranger's phone

A daemon listening on every interface of its network namespace, with a
password, a paired phone, a logged-in browser, two torrents (one shared),
a channel and a signed stream link. Two "stranger" namespaces, joined by
veth pairs, send requests from their own addresses (nothing is loopback,
nothing trusted):

- every route web registers (read from web/*.go, so a new one is probed
  too) with no credentials, with a forged Transmission session id and
  with a foreign Origin: 401; with `+"`Host: evil.example`"+`: 421;
- the Transmission RPC (both paths; session-get, torrent-get,
  torrent-add, session-set) with and without a session id: 401 and no
  session id handed out; the SSE stream: 401;
- the public endpoints answer narrowly (LAN item lookup: only 64 hex
  digits; LAN peers question: only POST; pairing: only its two steps);
- signed stream links: the real one opens its file; forged, expired,
  extended, moved to another torrent or file: 403;
- share pages: the share's own torrent only; guessed tokens %s;
- wrong pairing codes: %s; wrong passwords: %s, then the right password
  is refused too (429, Retry-After %d s), on the API and the RPC;
- every body and header the strangers got is searched for the password,
  the owner's token, pairing secret and session cookie, an unshared share
  token and the pending pairing codes.

| Figure | Value |
|---|---|
| Routes probed | %d |
| Requests made | %d |
| Unauthorised successes | %d |
| Secrets found in responses | 0 |
| Device state changed | no |
| Connection flood: %d held open by one stranger | %d served, %d closed at once; the other stranger and the owner answered meanwhile |
`, answers(shareCodes), answers(codeAnswers), answers(pwAnswers), retry, len(probed), requests, unauthorised, flood, held, refused))
}

// floodConns opens n keep-alive connections to addr from ns and sends a
// request on each: held are those answered (and kept open), refused those
// the server closed instead. during runs while they are all open.
func floodConns(t *testing.T, ns *netns.NS, addr string, n int, during func()) (held, refused int) {
	t.Helper()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := ns.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			t.Fatalf("flood: dial %s: %v", addr, err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = io.WriteString(c, "GET /api/v1/version HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
		var resp *http.Response
		if err == nil {
			resp, err = http.ReadResponse(bufio.NewReader(c), nil)
		}
		if err != nil {
			refused++
			continue
		}
		resp.Body.Close()
		held++
	}
	during()
	return held, refused
}

// ownerSnapshot is what the stranger must not change, as the owner sees it.
func ownerSnapshot(o owner) string {
	var parts []string
	for _, p := range []string{"/api/v1/torrents", "/api/v1/settings", "/api/v1/channels", "/api/v1/shares", "/api/v1/devices", "/api/v1/subscriptions"} {
		var v any
		o.call("GET", p, "", &v)
		b, _ := json.Marshal(stripVolatile(v))
		parts = append(parts, fmt.Sprintf("%s=%x", p, b))
	}
	return strings.Join(parts, " ")
}

// stripVolatile drops fields that change by themselves (rates, times, peers,
// the completion time).
func stripVolatile(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch k {
			case "lastUsed", "uploaded", "uploadRate", "downloadRate", "peers", "seeds", "ratio", "eta", "seedingTime", "activity", "addr", "lastSeen", "views", "downloads", "hits",
				"doneAt": // set by the engine when the added torrents finish verifying, which under load can be after the first snapshot
				continue
			}
			out[k] = stripVolatile(e)
		}
		return out
	case []any:
		for i := range x {
			x[i] = stripVolatile(x[i])
		}
	}
	return v
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// answers summarises a run of status codes: "9 × 404, then 429".
func answers(codes []int) string {
	if len(codes) == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < len(codes); {
		j := i
		for j < len(codes) && codes[j] == codes[i] {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d × %d", j-i, codes[i]))
		i = j
	}
	return strings.Join(parts, ", then ")
}
