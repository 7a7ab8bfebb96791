package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/natpmp/natpmptest"
	"github.com/hearth-media/hearth/web"
)

// TestShareOutside: with share.outside on, the daemon asks the router
// (a NAT-PMP responder on loopback, natpmptest: miniupnpd's NAT-PMP side
// without a firewall) to forward share.outside_port, "share create" prints
// the outside link with the router's address and says it works from
// anywhere, the port serves share pages and never the control API, and
// the mapping is deleted when the daemon stops. A router that refuses
// gives no outside link and the reason.
func TestShareOutside(t *testing.T) {
	ext := netip.MustParseAddr("203.0.113.7")
	router := natpmptest.Start(t, "127.0.0.1:0", ext)
	port := freePort(t)
	d := startDaemonProc(t, t.TempDir(),
		"HEARTH_SHARE_OUTSIDE=true",
		fmt.Sprintf("HEARTH_SHARE_OUTSIDE_PORT=%d", port),
		"HEARTH_SHARE_GATEWAY="+router.Addr.String(),
	)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "note.txt"), []byte("hello"), 0o644)
	d.mustCLI("channel", "create", "Summer")
	d.mustCLI("channel", "add", "Summer", filepath.Join(src, "note.txt"))

	deadline := time.Now().Add(10 * time.Second)
	for router.Mappings()[uint16(port)].External == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if m := router.Mappings()[uint16(port)]; m.External != uint16(port) || m.Lifetime != 2*time.Hour || !m.From.IsLoopback() {
		t.Fatalf("router holds %+v, want port %d mapped for 2h", m, port)
	}
	var out string
	for out == "" || !strings.Contains(out, "outside link:") && time.Now().Before(deadline) {
		out = d.mustCLI("share", "create", "--channel", "Summer")
	}
	m := regexp.MustCompile(`outside link: http://203\.0\.113\.7:(\d+)/s/([A-Za-z0-9_-]{24})\n`).FindStringSubmatch(out)
	if m == nil || m[1] != fmt.Sprint(port) || !strings.Contains(out, "works from anywhere") {
		t.Fatalf("share create printed:\n%s", out)
	}
	var ls struct{ Shares []web.ShareInfo }
	if err := json.Unmarshal([]byte(d.mustCLI("share", "ls", "--json")), &ls); err != nil || len(ls.Shares) == 0 {
		t.Fatalf("share ls --json: %v", err)
	}
	if info := ls.Shares[0]; !info.Outside || info.Links[len(info.Links)-1].Kind != "outside" {
		t.Errorf("share ls --json: outside %v, links %+v", info.Outside, info.Links)
	}

	// The forwarded port (reached here on loopback, as the router would)
	// serves the share page and nothing of the control API.
	outsideBase := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, _, page := httpGet(t, outsideBase+"/s/"+m[2]); code != http.StatusOK || !strings.Contains(string(page), "note.txt") {
		t.Errorf("share page on the outside port = %d", code)
	}
	for _, p := range []string{"/api/v1/version", "/api/v1/torrents", "/transmission/rpc", "/"} {
		if code, _, _ := httpGet(t, outsideBase+p); code != http.StatusNotFound {
			t.Errorf("GET %s on the outside port = %d, want 404", p, code)
		}
	}
	d.stop()
	if n := len(router.Mappings()); n != 0 {
		t.Errorf("router holds %d mappings after the daemon stopped, want 0", n)
	}

	// A router that refuses: no outside link, and why.
	refusing := natpmptest.Start(t, "127.0.0.1:0", ext)
	refusing.Refuse(2)
	d2 := startDaemonProc(t, t.TempDir(), "HEARTH_SHARE_OUTSIDE=true",
		fmt.Sprintf("HEARTH_SHARE_OUTSIDE_PORT=%d", freePort(t)), "HEARTH_SHARE_GATEWAY="+refusing.Addr.String())
	d2.mustCLI("channel", "create", "Summer")
	deadline = time.Now().Add(10 * time.Second)
	for out = ""; !strings.Contains(out, "refused") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out = d2.mustCLI("share", "create", "--channel", "Summer")
	}
	if !strings.Contains(out, "No outside link: the router refused NAT-PMP: natpmp: not authorized") || !strings.Contains(out, "inside the home network only") || strings.Contains(out, "\noutside link:") {
		t.Errorf("share create with a refusing router printed:\n%s", out)
	}
}

// TestShareOutsideUPnP: a router that speaks only UPnP-IGD (Debian's
// miniupnpd in a network namespace, natpmptest.StartMiniupnpd): the
// daemon falls back to it, the router holds a DNAT rule for the port,
// the outside link carries the router's address (5.5.5.5, a label in
// the namespace: the test sends nothing there), and the rule goes when
// the daemon stops.
func TestShareOutsideUPnP(t *testing.T) {
	r := natpmptest.StartMiniupnpd(t, false, true)
	port := freePort(t)
	d := startDaemonProc(t, t.TempDir(), "HEARTH_SHARE_OUTSIDE=true",
		fmt.Sprintf("HEARTH_SHARE_OUTSIDE_PORT=%d", port), "HEARTH_SHARE_GATEWAY="+r.Gateway.String())
	d.mustCLI("channel", "create", "Summer")
	var out string
	deadline := time.Now().Add(20 * time.Second)
	for ; !strings.Contains(out, "\noutside link:") && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out = d.mustCLI("share", "create", "--channel", "Summer")
	}
	if want := fmt.Sprintf("outside link: http://5.5.5.5:%d/s/", port); !strings.Contains(out, want) {
		t.Fatalf("share create printed (want %q):\n%s", want, out)
	}
	if rules := r.Rules(t); !strings.Contains(rules, fmt.Sprint(port)) || !strings.Contains(rules, "10.213.0.1") {
		t.Errorf("router has no DNAT rule for port %d:\n%s", port, rules)
	}
	d.stop()
	if rules := r.Rules(t); strings.Contains(rules, fmt.Sprint(port)) {
		t.Errorf("rule left after the daemon stopped:\n%s", rules)
	}
}
