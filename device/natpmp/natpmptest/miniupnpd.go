package natpmptest

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Miniupnpd is Debian's miniupnpd (nftables backend) running in a network
// namespace the test made, reached over a veth pair: this host is
// 10.213.0.1, the router 10.213.0.2. It reports ext_ip=5.5.5.5
// (miniupnpd refuses private and documentation addresses as its public
// one): only a label in its answers, nothing is ever sent there (no STUN,
// no route out of the namespace).
type Miniupnpd struct {
	Gateway netip.Addr // 10.213.0.2
	ns      string
	log     *lockedBuf
}

// StartMiniupnpd starts it with NAT-PMP (port 5351) and/or UPnP-IGD
// (HTTP on port 5000, SSDP on 1900 of the veth). It skips the test
// without root, miniupnpd, nft or ip. Everything goes at cleanup.
func StartMiniupnpd(t testing.TB, natpmp, upnp bool) *Miniupnpd {
	t.Helper()
	bin := "/usr/sbin/miniupnpd"
	// make test (HEARTH_TEST_REQUIRE_ROOT=1) runs as root and installs the
	// packages: there a missing piece fails the test instead of skipping it.
	skip := t.Skipf
	if os.Getenv("HEARTH_TEST_REQUIRE_ROOT") != "" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root for a network namespace")
	}
	for _, p := range []string{bin, "nft", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			skip("%s missing: apt-get install -y --no-install-recommends miniupnpd-nftables nftables iproute2", p)
		}
	}
	// Tests of several packages (separate processes) use 10.213.0.0/24:
	// one at a time, or the host's routes to it would be ambiguous.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "hearth-natpmptest-10.213.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() }) // releases the lock, after the cleanups below (LIFO)
	m := &Miniupnpd{Gateway: netip.MustParseAddr("10.213.0.2"), ns: fmt.Sprintf("hearth-pmp-%d", os.Getpid()), log: &lockedBuf{}}
	host, peer := fmt.Sprintf("hp%da", os.Getpid()%100000), fmt.Sprintf("hp%db", os.Getpid()%100000)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("ip", "netns", "add", m.ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", m.ns).Run() })
	run("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", m.ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	run("ip", "addr", "add", "10.213.0.1/24", "dev", host)
	run("ip", "link", "set", host, "up")
	run("ip", "-n", m.ns, "addr", "add", "10.213.0.2/24", "dev", peer)
	run("ip", "-n", m.ns, "link", "set", peer, "up")
	run("ip", "-n", m.ns, "link", "set", "lo", "up")
	// The router's WAN side: another veth pair inside the namespace.
	run("ip", "-n", m.ns, "link", "add", "wan0", "type", "veth", "peer", "name", "wan1")
	run("ip", "-n", m.ns, "addr", "add", "198.51.100.2/24", "dev", "wan0")
	run("ip", "-n", m.ns, "link", "set", "wan0", "up")
	run("ip", "-n", m.ns, "link", "set", "wan1", "up")

	dir := t.TempDir()
	tables := filepath.Join(dir, "tables.nft")
	os.WriteFile(tables, []byte(`table inet filter {
  chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
  chain miniupnpd { }
}
table inet nat {
  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
  chain prerouting_miniupnpd { }
  chain postrouting_miniupnpd { }
}
`), 0o644)
	run("ip", "netns", "exec", m.ns, "nft", "-f", tables)
	conf := filepath.Join(dir, "miniupnpd.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`ext_ifname=wan0
ext_ip=5.5.5.5
listening_ip=%s
port=5000
enable_natpmp=%s
enable_upnp=%s
secure_mode=yes
system_uptime=yes
uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b
lease_file=%s
upnp_table_name=filter
upnp_nat_table_name=nat
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.213.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`, peer, yesNo[natpmp], yesNo[upnp], filepath.Join(dir, "leases"))), 0o644)
	cmd := exec.Command("ip", "netns", "exec", m.ns, bin, "-f", conf, "-d")
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("miniupnpd log:\n%s", m.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for natpmp && !strings.Contains(m.log.String(), "Listening for NAT-PMP") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if upnp {
		for !strings.Contains(m.log.String(), "HTTP listening on port") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return m
}

var yesNo = map[bool]string{true: "yes", false: "no"}

// Rules lists the router's port-forwarding (DNAT) rules.
func (m *Miniupnpd) Rules(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", m.ns, "nft", "list", "chain", "inet", "nat", "prerouting_miniupnpd").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list: %v\n%s", err, out)
	}
	return string(out)
}

// Log is what miniupnpd printed so far.
func (m *Miniupnpd) Log() string { return m.log.String() }

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
