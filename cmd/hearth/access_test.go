package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/engine/enginetest/peers"
	"github.com/hearth-media/hearth/web/access"
)

// TestAccessCLI drives passwd, pair and devices against a real daemon
// that does not trust loopback (access.trust_loopback = false), so the
// client commands must log in like a LAN caller would.
func TestAccessCLI(t *testing.T) {
	d := startDaemonProc(t, t.TempDir(), "HEARTH_ACCESS_TRUST_LOOPBACK=false")
	t.Setenv("HEARTH_USER", "")
	t.Setenv("HEARTH_PASSWORD", "")
	t.Setenv("HEARTH_TOKEN", "")

	code, _, errOut := d.cli("ls")
	if code != exitFailed || !strings.Contains(errOut, "wants credentials") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("hearth ls without credentials = exit %d, %q; want 1 and one line saying what to do", code, errOut)
	}
	// No credentials exist yet: the device itself may set the first password.
	code, _, errOut = runHearthIn(t, "s3cret pass\n", "passwd", "--stdin", "--api", d.api)
	if code != exitOK {
		t.Fatalf("hearth passwd --stdin (first password) = exit %d, %q", code, errOut)
	}
	code, _, errOut = runHearthIn(t, "other pass\n", "passwd", "--stdin", "--api", d.api)
	if code != exitFailed || !strings.Contains(errOut, "wants credentials") {
		t.Errorf("second passwd without logging in = exit %d, %q; want 1, credentials wanted", code, errOut)
	}
	code, _, errOut = runHearthIn(t, "short\n", "passwd", "--stdin", "--api", "http://admin:s3cret%20pass@"+strings.TrimPrefix(d.api, "http://"))
	if code != exitFailed || !strings.Contains(errOut, "shorter than 8") {
		t.Errorf("passwd with a short password = exit %d, %q", code, errOut)
	}
	if code, _, errOut := runHearth(t, "passwd", "--api", d.api); code != exitUsage || !strings.Contains(errOut, "--stdin") {
		t.Errorf("passwd with stdin not a terminal = exit %d, %q; want usage error naming --stdin", code, errOut)
	}

	t.Setenv("HEARTH_PASSWORD", "s3cret pass")
	if code, out, errOut := d.cli("ls", "--user", "admin"); code != exitOK || !strings.Contains(out, "no torrents") {
		t.Errorf("hearth ls --user admin = exit %d, %q, %q", code, out, errOut)
	}
	t.Setenv("HEARTH_USER", "admin")
	if code, _, errOut := d.cli("ls"); code != exitOK {
		t.Errorf("hearth ls with HEARTH_USER/HEARTH_PASSWORD = exit %d, %q", code, errOut)
	}
	t.Setenv("HEARTH_PASSWORD", "wrong pass")
	code, _, errOut = d.cli("ls")
	if code != exitFailed || !strings.Contains(errOut, "refused the credentials") || strings.Contains(errOut, "wrong pass") {
		t.Errorf("hearth ls with a wrong password = exit %d, %q; want 1, refused, no password echoed", code, errOut)
	}
	t.Setenv("HEARTH_USER", "")
	t.Setenv("HEARTH_PASSWORD", "")

	// Pair this "laptop": the request waits for the owner in the background.
	owner := "http://admin:s3cret%20pass@" + strings.TrimPrefix(d.api, "http://")
	type result struct {
		code        int
		out, errOut string
	}
	done := make(chan result, 1)
	go func() {
		var out, errb bytes.Buffer
		c := run(context.Background(), []string{"pair", "--request", "laptop", "--wait", "60s", "--api", d.api}, strings.NewReader(""), &out, &errb)
		done <- result{c, out.String(), errb.String()}
	}()
	var l pairListing
	deadline := time.Now().Add(20 * time.Second)
	for len(l.Requests) == 0 && time.Now().Before(deadline) {
		_, out, _ := runHearth(t, "pair", "--json", "--api", owner)
		json.Unmarshal([]byte(out), &l)
		time.Sleep(50 * time.Millisecond)
	}
	if len(l.Requests) != 1 || l.Requests[0].Name != "laptop" || len(l.Requests[0].Code) != 6 {
		t.Fatalf("hearth pair --json = %+v, want the laptop's request with a code", l)
	}
	_, out, _ := runHearth(t, "pair", "--api", owner)
	if !strings.Contains(out, l.Requests[0].Code) || !strings.Contains(out, "laptop") {
		t.Errorf("hearth pair table lacks the request:\n%s", out)
	}
	if code, out, errOut := runHearth(t, "pair", "--approve", l.Requests[0].ID, "--api", owner); code != exitOK || !strings.Contains(out, "approved") {
		t.Fatalf("hearth pair --approve = exit %d, %q %q", code, out, errOut)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("hearth pair --request did not finish after the approval")
	}
	tok := strings.TrimSpace(r.out)
	if r.code != exitOK || !access.LooksLikeToken(tok) {
		t.Fatalf("hearth pair --request = exit %d, stdout %q, stderr %q; want the token", r.code, r.out, r.errOut)
	}
	t.Setenv("HEARTH_TOKEN", tok)
	if code, _, errOut := d.cli("ls"); code != exitOK {
		t.Errorf("hearth ls with HEARTH_TOKEN = exit %d, %q", code, errOut)
	}
	_, out, _ = d.cli("devices")
	if !strings.Contains(out, "laptop") || strings.Contains(out, tok) {
		t.Errorf("hearth devices = %q, want the laptop and no token", out)
	}
	var devs struct{ Devices []access.Device }
	_, out, _ = d.cli("devices", "--json")
	json.Unmarshal([]byte(out), &devs)
	if len(devs.Devices) != 1 {
		t.Fatalf("hearth devices --json = %s", out)
	}
	if code, out, errOut := d.cli("devices", "revoke", devs.Devices[0].ID); code != exitOK || !strings.Contains(out, "revoked") {
		t.Errorf("hearth devices revoke = exit %d, %q %q", code, out, errOut)
	}
	if code, _, errOut := d.cli("ls"); code != exitFailed || !strings.Contains(errOut, "refused") {
		t.Errorf("hearth ls with a revoked token = exit %d, %q", code, errOut)
	}
	t.Setenv("HEARTH_TOKEN", "")
	if code, out, _ := runHearth(t, "passwd", "--off", "--api", owner); code != exitOK || !strings.Contains(out, "removed") {
		t.Errorf("hearth passwd --off = exit %d, %q", code, out)
	}
	for _, s := range []string{"s3cret pass", tok} {
		if strings.Contains(d.logs.String(), s) {
			t.Errorf("daemon log contains the secret %q", s)
		}
	}
}

// lanDaemon is "hearth serve" in namespace ns listening on every interface.
func startLANDaemon(t *testing.T, ns *netns.NS) (*nsDaemon, int) {
	t.Helper()
	dir := t.TempDir()
	d := &nsDaemon{t: t, ns: ns, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "hearth.log"),
		peerPort: freePortIn(t, ns), done: make(chan error, 1), env: interopEnv(dir)}
	port := freePortIn(t, ns)
	d.api = "http://127.0.0.1:" + strconv.Itoa(port)
	// No --listen: the default (every interface, :9091) with another port.
	d.cmd = ns.Command(context.Background(), hearthBinary(t), "serve", "--data-dir", d.dataDir, "--peer-port", strconv.Itoa(d.peerPort))
	d.cmd.Env = append(d.env, "HEARTH_LISTEN=:"+strconv.Itoa(port))
	lf, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = lf, lf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			<-d.done
		}
		if t.Failed() {
			t.Logf("hearth serve log:\n%s", logTail(d.logPath, 60))
		}
	})
	hc := &http.Client{Transport: &http.Transport{DialContext: ns.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := hc.Get(d.api + "/api/v1/version"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d, port
			}
		}
	}
	t.Fatalf("hearth serve in %s did not answer within 30 s\n%s", ns, logTail(d.logPath, 40))
	return nil, 0
}

// phone runs curl inside ns: the status, body and headers of one request.
func phone(t *testing.T, ns *netns.NS, args ...string) (int, string, http.Header) {
	t.Helper()
	hf := filepath.Join(t.TempDir(), "headers")
	full := append([]string{"--noproxy", "*", "-sS", "-m", "10", "-D", hf, "-o", "-", "-w", "\n%{http_code}"}, args...)
	cmd := ns.Command(context.Background(), "curl", full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("curl %s in %s: %v: %s", strings.Join(args, " "), ns, err, errb.String())
	}
	s := out.String()
	i := strings.LastIndexByte(s, '\n')
	code, _ := strconv.Atoi(s[i+1:])
	h := http.Header{}
	raw, _ := os.ReadFile(hf)
	for _, line := range strings.Split(string(raw), "\r\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h.Add(k, v)
		}
	}
	return code, s[:i], h
}

// TestPairFromLAN is the test: a real daemon listening on every
// interface in one network namespace, a "phone" (curl) in another, joined
// by a veth pair. Unpaired → 401; pair with the code read on the device
// with "hearth pair" → the token works; revoked → 401 again; wrong codes
// → refused, then rate-limited; transmission-remote with a wrong password
// → 401.
func TestPairFromLAN(t *testing.T) {
	netns.Require(t)
	peers.Require(t, "curl")
	dev, ph := netns.New(t, "device"), netns.New(t, "phone")
	devAddr, _ := netns.Link(t, dev, ph, "")
	d, port := startLANDaemon(t, dev)
	ctx := context.Background()
	base := fmt.Sprintf("http://%s:%d", devAddr, port)
	if !strings.Contains(logTail(d.logPath, 200), "no password set yet") {
		t.Errorf("start-up log does not say what protects the API:\n%s", logTail(d.logPath, 20))
	}

	code, body, h := phone(t, ph, base+"/api/v1/torrents")
	if code != 401 || !strings.HasPrefix(h.Get("WWW-Authenticate"), `Basic realm="Hearth"`) {
		t.Fatalf("unpaired phone GET /torrents = %d %s (WWW-Authenticate %q), want 401 with a Basic challenge", code, body, h.Get("WWW-Authenticate"))
	}
	code, body, _ = phone(t, ph, "-H", "Host: evil.example", base+"/api/v1/torrents")
	if code != 421 {
		t.Errorf("foreign Host header = %d %s, want 421", code, body)
	}

	// Ask to pair; the owner reads the code on the device.
	code, body, _ = phone(t, ph, "-H", "Content-Type: application/json", "-d", `{"name":"Anna's phone"}`, base+"/api/v1/pair")
	var tk access.PairTicket
	if err := json.Unmarshal([]byte(body), &tk); code != 202 || err != nil || tk.Secret == "" {
		t.Fatalf("POST /pair = %d %s, want 202 with a ticket", code, body)
	}
	var l pairListing
	out := d.mustCLI(ctx, "pair", "--json")
	if err := json.Unmarshal([]byte(out), &l); err != nil || len(l.Requests) != 1 || l.Requests[0].Addr == devAddr.String() {
		t.Fatalf("hearth pair --json on the device = %s (%v), want the phone's request", out, err)
	}
	pairCode := l.Requests[0].Code
	confirm := func(id, secret, code string) (int, string, http.Header) {
		b, _ := json.Marshal(map[string]string{"secret": secret, "code": code})
		return phone(t, ph, "-H", "Content-Type: application/json", "-d", string(b), base+"/api/v1/pair/"+id)
	}
	code, body, _ = confirm(tk.ID, tk.Secret, pairCode)
	var p struct {
		Token  string
		Device access.Device
	}
	if err := json.Unmarshal([]byte(body), &p); code != 200 || err != nil || !access.LooksLikeToken(p.Token) {
		t.Fatalf("confirm with the code = %d %s, want 200 and a token", code, body)
	}
	if code, body, _ := phone(t, ph, "-H", "Authorization: Bearer "+p.Token, base+"/api/v1/torrents"); code != 200 {
		t.Errorf("paired phone (Bearer) GET /torrents = %d %s, want 200", code, body)
	}
	if code, body, _ := phone(t, ph, "-u", "phone:"+p.Token, base+"/api/v1/torrents"); code != 200 {
		t.Errorf("paired phone (token as Basic password) = %d %s, want 200", code, body)
	}
	if out := d.mustCLI(ctx, "devices"); !strings.Contains(out, "Anna's phone") || !strings.Contains(out, ph.Addrs()[0].String()) {
		t.Errorf("hearth devices = %q, want the phone and its address", out)
	}
	// A Transmission remote uses the token as its password. Once the RPC
	// is mounted (web/transmission) this must list; before, the access
	// layer let it through to a 404, which is all that can be checked.
	if _, err := exec.LookPath("transmission-remote"); err == nil {
		cmd := ph.Command(ctx, "transmission-remote", fmt.Sprintf("%s:%d", devAddr, port), "-n", "phone:"+p.Token, "-l")
		cmd.Env = d.env
		out, err := cmd.CombinedOutput()
		switch {
		case strings.Contains(string(out), "no such API endpoint"):
			t.Log("transmission-remote with the token passed access control; the RPC is not mounted in this build (404)")
		case err != nil || !strings.Contains(string(out), "Sum:"):
			t.Errorf("transmission-remote -n phone:TOKEN -l = %v, %q; want the (empty) list", err, out)
		}
	}
	d.mustCLI(ctx, "devices", "revoke", p.Device.ID)
	if code, body, _ := phone(t, ph, "-H", "Authorization: Bearer "+p.Token, base+"/api/v1/torrents"); code != 401 {
		t.Errorf("revoked phone GET /torrents = %d %s, want 401", code, body)
	}

	// Transmission remotes send Basic: a wrong password is a 401 on the
	// RPC path too (this only needs the access layer: the RPC itself may
	// or may not be mounted in this build).
	if _, err := exec.LookPath("transmission-remote"); err == nil {
		cmd := ph.Command(ctx, "transmission-remote", fmt.Sprintf("%s:%d", devAddr, port), "-n", "admin:wrong", "-l")
		cmd.Env = d.env
		out, err := cmd.CombinedOutput()
		// transmission-remote 3.00 prints the body of an unexpected answer.
		if err == nil || !strings.Contains(string(out), "wrong user name, password or token") {
			t.Errorf("transmission-remote -n admin:wrong = %v, %q; want a failure with the 401's message", err, out)
		}
	}

	// Wrong codes: refused, the request dies after 5, and the phone's
	// address is then rate-limited (one failure so far: the revoked token).
	wrong := "000000"
	var codes []int
	for i := 0; i < 20; i++ {
		if i%access.MaxCodeTries == 0 {
			_, body, _ := phone(t, ph, "-H", "Content-Type: application/json", "-d", `{"name":"guesser"}`, base+"/api/v1/pair")
			json.Unmarshal([]byte(body), &tk)
			if pend := d.mustCLI(ctx, "pair", "--json"); strings.Contains(pend, `"code": "000000"`) {
				wrong = "111111"
			}
		}
		c, _, h := confirm(tk.ID, tk.Secret, wrong)
		codes = append(codes, c)
		if c == 429 {
			if h.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			break
		}
		if c != 403 && c != 404 {
			t.Fatalf("wrong code %d = %d, want 403 (or 404 once the request died)", i+1, c)
		}
	}
	if codes[0] != 403 || codes[len(codes)-1] != 429 {
		t.Errorf("wrong codes answered %v, want 403s then 429", codes)
	}
	if log := logTail(d.logPath, 10000); strings.Contains(log, p.Token) || strings.Contains(log, tk.Secret) {
		t.Error("the daemon log contains a token or a pairing secret")
	}
}
