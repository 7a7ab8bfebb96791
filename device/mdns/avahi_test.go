package mdns

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/engine/enginetest/peers"
)

// avahi is Debian's avahi-daemon running inside a test namespace, on a
// private dbus-daemon (never the machine's system bus).
type avahi struct {
	ns  *netns.NS
	env []string
}

// lookProgram finds a program on PATH or in /usr/sbin (daemons live there
// and PATH may lack it).
func lookProgram(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found", name)
}

// requireAvahi fails (HEARTH_TEST_REQUIRE_PEERS=1) or skips without
// avahi-daemon, avahi-utils and dbus.
func requireAvahi(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{"avahi-daemon", "avahi-browse", "avahi-publish", "dbus-daemon"} {
		if _, err := lookProgram(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("missing %s (Debian avahi-daemon avahi-utils dbus; run scripts/test-deps.sh as root)", strings.Join(missing, ", "))
	if os.Getenv(peers.EnvRequire) == "1" {
		t.Fatalf("%s; %s=1", msg, peers.EnvRequire)
	}
	t.Skip(msg)
}

func startAvahi(t *testing.T, ns *netns.NS, iface string) *avahi {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "bus.sock")
	conf, err := os.ReadFile("/usr/share/dbus-1/system.conf")
	if err != nil {
		t.Fatalf("dbus system.conf: %v", err)
	}
	// Debian's policy as is; only where it listens, its pidfile, no
	// switch to the messagebus user (it could not reach the temp dir), and
	// the relative policy directory made absolute (it is relative to the
	// config file, now in the temp dir).
	c := string(conf)
	c = strings.ReplaceAll(c, "<includedir>system.d</includedir>", "<includedir>/usr/share/dbus-1/system.d</includedir>")
	c = regexp.MustCompile(`<listen>[^<]*</listen>`).ReplaceAllString(c, "<listen>unix:path="+sock+"</listen>")
	c = regexp.MustCompile(`<pidfile>[^<]*</pidfile>`).ReplaceAllString(c, "<pidfile>"+filepath.Join(dir, "dbus.pid")+"</pidfile>")
	c = regexp.MustCompile(`<user>[^<]*</user>`).ReplaceAllString(c, "")
	busConf := filepath.Join(dir, "system.conf")
	avahiConf := filepath.Join(dir, "avahi-daemon.conf")
	must(t, os.WriteFile(busConf, []byte(c), 0o644))
	must(t, os.WriteFile(avahiConf, []byte(fmt.Sprintf(`[server]
use-ipv4=yes
use-ipv6=yes
allow-interfaces=%s
enable-dbus=yes
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
`, iface)), 0o644))

	a := &avahi{ns: ns, env: append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+sock)}
	dbusBin, _ := lookProgram("dbus-daemon")
	avahiBin, _ := lookProgram("avahi-daemon")
	bus := ns.Command(context.Background(), dbusBin, "--config-file="+busConf, "--nofork", "--nopidfile")
	bus.Stderr = &logWriter{t: t, prefix: "dbus: "}
	if err := bus.Start(); err != nil {
		t.Fatalf("start dbus-daemon in %s: %v", ns, err)
	}
	t.Cleanup(func() { bus.Process.Kill(); bus.Wait() })
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dbus-daemon in %s made no socket at %s", ns, sock)
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := ns.Command(context.Background(), avahiBin, "-f", avahiConf, "--no-drop-root", "--no-chroot", "--no-rlimits", "--no-proc-title")
	d.Env = a.env
	d.Stdout = &logWriter{t: t, prefix: "avahi: "}
	d.Stderr = d.Stdout
	if err := d.Start(); err != nil {
		t.Fatalf("start avahi-daemon in %s: %v", ns, err)
	}
	t.Cleanup(func() { d.Process.Kill(); d.Wait() })
	return a
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// browse runs avahi-browse -rpt for service and returns its resolved lines.
func (a *avahi) browse(t *testing.T, service string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := a.ns.Command(ctx, "avahi-browse", "-rpt", service)
	cmd.Env = a.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Logf("avahi-browse: %v: %s", err, errb.String())
		return nil
	}
	var res []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "=") {
			res = append(res, l)
		}
	}
	return res
}

// TestAvahiInterop: Debian's avahi resolves a Hearth device with its TXT
// records, and Hearth's browser finds a service avahi publishes.
func TestAvahiInterop(t *testing.T) {
	requireAvahi(t)
	l := newLAN(t)
	av := startAvahi(t, l.b, l.ifaceB)

	cfg := testConfig("a1b2c3", "Kitchen NAS", l.ifaceA)
	cfg.PairingOpen = true
	adv := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: cfg})
	adv.advertising(waitLimit)

	var line string
	start := time.Now()
	for deadline := time.Now().Add(waitLimit); line == "" && time.Now().Before(deadline); {
		for _, l4 := range av.browse(t, ServiceHearth) {
			if strings.Contains(l4, ";IPv4;") {
				line = l4
			}
		}
		if line == "" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if line == "" {
		t.Fatalf("avahi-browse -rpt %s in B never resolved the device", ServiceHearth)
	}
	t.Logf("avahi-browse resolved after %v: %s", time.Since(start).Round(time.Millisecond), line)
	// =;iface;IPv4;name;type;domain;host;address;port;"txt" "txt"…
	f := strings.SplitN(line, ";", 10)
	if len(f) != 10 {
		t.Fatalf("avahi-browse line %q: want 10 fields", line)
	}
	name := strings.ReplaceAll(f[3], `\032`, " ")
	if name != cfg.Name || f[4] != ServiceHearth || f[6] != hostLabel(cfg.ID)+".local" || f[7] != l.addrA.String() || f[8] != "9091" {
		t.Errorf("avahi-browse = name %q type %s host %s addr %s port %s, want %q %s %s.local %s 9091",
			name, f[4], f[6], f[7], f[8], cfg.Name, ServiceHearth, hostLabel(cfg.ID), l.addrA)
	}
	for _, kv := range []string{`"id=a1b2c3"`, `"pair=1"`, `"ver=1.2.3"`, `"api=/api/v1"`, `"rpc=/transmission/rpc"`, `"name=Kitchen NAS"`} {
		if !strings.Contains(f[9], kv) {
			t.Errorf("avahi TXT %s lacks %s", f[9], kv)
		}
	}

	// The other way: avahi publishes, Hearth browses from A.
	pub := av.ns.Command(context.Background(), "avahi-publish", "-s", "Avahi Box", ServiceHearth, "8080", "id=avahi1", "ver=9", "pair=1")
	pub.Env = av.env
	pub.Stderr = &logWriter{t: t, prefix: "avahi-publish: "}
	if err := pub.Start(); err != nil {
		t.Fatalf("avahi-publish: %v", err)
	}
	t.Cleanup(func() { pub.Process.Kill(); pub.Wait() })
	w := startHelper(t, l.a, "watchA", "watch", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceA}})
	h := w.waitFor(waitLimit, "the avahi service", func(h helperLine) bool {
		return h.Entry != nil && h.Entry.Instance == "Avahi Box"
	})
	e := h.Entry
	if e.Port != 8080 || e.ID != "avahi1" || e.Version != "9" || !e.PairingOpen || !hasAddr(e, l.addrB) {
		t.Errorf("Hearth's view of avahi's service = %+v, want port 8080 id avahi1 ver 9 pairing open at %v", e, l.addrB)
	}
}
