package natpmp

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMiniupnpd: the client against an independent NAT-PMP server,
// Debian's miniupnpd (nftables backend), running in a network namespace
// the test makes and reached over a veth pair (10.213.0.1 here, 10.213.0.2
// in the namespace). miniupnpd refuses private and documentation
// addresses as its public one, so it is told ext_ip=5.5.5.5: only a label
// in its answers, nothing is ever sent there (no STUN, no route out of the
// namespace). Mappings must appear as nftables DNAT rules and go away
// when deleted.
func TestMiniupnpd(t *testing.T) {
	bin := "/usr/sbin/miniupnpd"
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace")
	}
	for _, p := range []string{bin, "nft", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s missing: apt-get install -y --no-install-recommends miniupnpd-nftables nftables iproute2", p)
		}
	}
	ns := fmt.Sprintf("hearth-pmp-%d", os.Getpid())
	host, peer := fmt.Sprintf("hp%da", os.Getpid()%100000), fmt.Sprintf("hp%db", os.Getpid()%100000)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	inNS := func(args ...string) string { return run(append([]string{"ip", "netns", "exec", ns}, args...)...) }
	run("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	run("ip", "link", "add", host, "type", "veth", "peer", "name", peer, "netns", ns)
	t.Cleanup(func() { exec.Command("ip", "link", "del", host).Run() })
	run("ip", "addr", "add", "10.213.0.1/24", "dev", host)
	run("ip", "link", "set", host, "up")
	run("ip", "-n", ns, "addr", "add", "10.213.0.2/24", "dev", peer)
	run("ip", "-n", ns, "link", "set", peer, "up")
	run("ip", "-n", ns, "link", "set", "lo", "up")
	// The router's WAN side: another veth pair inside the namespace.
	run("ip", "-n", ns, "link", "add", "wan0", "type", "veth", "peer", "name", "wan1")
	run("ip", "-n", ns, "addr", "add", "198.51.100.2/24", "dev", "wan0")
	run("ip", "-n", ns, "link", "set", "wan0", "up")
	run("ip", "-n", ns, "link", "set", "wan1", "up")

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
	inNS("nft", "-f", tables)
	conf := filepath.Join(dir, "miniupnpd.conf")
	os.WriteFile(conf, []byte(`ext_ifname=wan0
ext_ip=5.5.5.5
listening_ip=`+peer+`
port=0
enable_natpmp=yes
enable_upnp=no
secure_mode=yes
system_uptime=yes
lease_file=`+filepath.Join(dir, "leases")+`
upnp_table_name=filter
upnp_nat_table_name=nat
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 10.213.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
`), 0o644)
	var logBuf lockedBuf
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-f", conf, "-d")
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("miniupnpd log:\n%s", logBuf.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logBuf.String(), "Listening for NAT-PMP") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	ctx := context.Background()
	c := &Client{Gateway: netip.MustParseAddrPort("10.213.0.2:5351")}
	if a, err := c.ExternalAddress(ctx); err != nil || a != netip.MustParseAddr("5.5.5.5") {
		t.Fatalf("ExternalAddress() = %v, %v; want 5.5.5.5", a, err)
	}
	m, err := c.MapTCP(ctx, 9092, 9092, time.Hour)
	if err != nil || m.Internal != 9092 || m.External != 9092 || m.Lifetime != time.Hour {
		t.Fatalf("MapTCP(9092) = %+v, %v", m, err)
	}
	rules := inNS("nft", "list", "chain", "inet", "nat", "prerouting_miniupnpd")
	if !strings.Contains(rules, "dnat") || !strings.Contains(rules, "10.213.0.1") || !strings.Contains(rules, "9092") {
		t.Errorf("no DNAT rule for the mapping:\n%s", rules)
	}
	if _, err := c.MapTCP(ctx, 9092, 0, 0); err != nil {
		t.Fatalf("MapTCP(delete) = %v", err)
	}
	if rules := inNS("nft", "list", "chain", "inet", "nat", "prerouting_miniupnpd"); strings.Contains(rules, "9092") {
		t.Errorf("rule left after the delete:\n%s", rules)
	}
	// Another external port than the internal one.
	if m, err := c.MapTCP(ctx, 9093, 40000, time.Minute); err != nil || m.External != 40000 || m.Lifetime != time.Minute {
		t.Errorf("MapTCP(9093 -> 40000) = %+v, %v", m, err)
	}
	if rules := inNS("nft", "list", "chain", "inet", "nat", "prerouting_miniupnpd"); !strings.Contains(rules, "40000") || !strings.Contains(rules, "9093") {
		t.Errorf("no DNAT rule 40000 -> 9093:\n%s", rules)
	}
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
