// Package netns gives tests private Linux network namespaces joined by veth
// pairs, so real BitTorrent clients can talk to each other at addresses
// other than 127.x (Transmission 3.00 refuses loopback peers learnt from a
// tracker) while no packet ever leaves the machine.
//
// A namespace made by New has only lo (up) and no routes; Link adds a veth
// pair between two namespaces with addresses from a private subnet that
// exists only inside those two namespaces. Nothing here touches the host's
// own interfaces or routes.
//
// Everything needs root and the ip tool (iproute2). A test calls New, which
// calls Require: when namespaces are unavailable the test fails if
// HEARTH_TEST_REQUIRE_NETNS=1 (set by `make test`), and is skipped with the
// reason otherwise.
//
// Code runs inside a namespace in two ways:
//   - (*NS).Command starts a program there through `ip netns exec`.
//   - (*NS).Run runs a Go function on an OS thread switched into the
//     namespace. Sockets remember the namespace they were created in, so
//     a listener or connection made inside fn keeps working from any
//     goroutine afterwards; see Run for what fn must not do.
package netns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// EnvRequire is the environment variable that turns "skip" into "fail"
// when network namespaces are unavailable.
const EnvRequire = "HEARTH_TEST_REQUIRE_NETNS"

// NS is a network namespace owned by one test.
type NS struct {
	// Name is the namespace's name as `ip netns` knows it.
	Name string

	mu    sync.Mutex
	cmds  []*exec.Cmd
	addrs []netip.Addr
}

var (
	availOnce sync.Once
	availErr  error
	seq       atomic.Int64
	// linkSeq numbers veth pairs and auto-picked subnets in this process.
	linkSeq atomic.Int64
	// sweepOnce removes namespaces left by earlier test processes that died.
	sweepOnce sync.Once
)

// prefix is what every namespace made by this process starts with.
func prefix() string { return "hearth-" + strconv.Itoa(os.Getpid()) + "-" }

// Available reports why network namespaces cannot be used here, or nil.
// It checks for root and the ip tool and creates and deletes a probe
// namespace once per process.
func Available() error {
	availOnce.Do(func() { availErr = probe() })
	return availErr
}

// Require fails the test (HEARTH_TEST_REQUIRE_NETNS=1) or skips it when
// network namespaces are unavailable.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		return
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("network namespaces are required (%s=1): %v", EnvRequire, err)
	}
	t.Skipf("network namespaces unavailable (set %s=1 to make this a failure): %v", EnvRequire, err)
}

// New creates a namespace named hearth-<pid>-<name>-<n> with lo up. The
// test's cleanup kills every process still running inside it and deletes
// it. New calls Require first.
func New(t testing.TB, name string) *NS {
	t.Helper()
	Require(t)
	sweepOnce.Do(sweepStale)
	ns := &NS{Name: fmt.Sprintf("%s%s-%d", prefix(), sanitize(name), seq.Add(1))}
	if out, err := exec.Command("ip", "netns", "add", ns.Name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", ns.Name, err, out)
	}
	t.Cleanup(ns.destroy)
	if err := ip("-n", ns.Name, "link", "set", "lo", "up"); err != nil {
		t.Fatalf("netns %s: %v", ns.Name, err)
	}
	return ns
}

// Link joins a and b with a veth pair and gives them the first two host
// addresses of subnet (an IPv4 prefix such as "10.213.1.0/24"); "" picks
// 10.213.N.0/24 with N unique in this process. The subnet exists only
// inside a and b, which is why any private range will do, but keep to
// 10.213.0.0/16 by convention.
func Link(t testing.TB, a, b *NS, subnet string) (addrA, addrB netip.Addr) {
	t.Helper()
	n := linkSeq.Add(1)
	if subnet == "" {
		subnet = fmt.Sprintf("10.213.%d.0/24", n%250+1)
	}
	addrA, addrB, bits, err := pair(subnet)
	if err != nil {
		t.Fatalf("netns.Link: %v", err)
	}
	ifA, ifB := fmt.Sprintf("hv%da", n), fmt.Sprintf("hv%db", n)
	steps := [][]string{
		// Created directly inside the namespaces: the host never sees them.
		{"link", "add", ifA, "netns", a.Name, "type", "veth", "peer", "name", ifB, "netns", b.Name},
		{"-n", a.Name, "addr", "add", fmt.Sprintf("%s/%d", addrA, bits), "dev", ifA},
		{"-n", b.Name, "addr", "add", fmt.Sprintf("%s/%d", addrB, bits), "dev", ifB},
		{"-n", a.Name, "link", "set", ifA, "up"},
		{"-n", b.Name, "link", "set", ifB, "up"},
	}
	for _, s := range steps {
		if err := ip(s...); err != nil {
			t.Fatalf("netns.Link %s-%s: %v", a.Name, b.Name, err)
		}
	}
	a.addAddr(addrA)
	b.addAddr(addrB)
	return addrA, addrB
}

// Route adds a route inside ns to dst (a prefix such as "10.213.0.0/16")
// via gw, an address on one of ns's links. Useful when several namespaces
// hang off one hub namespace and must reach each other's subnets; the hub
// does not forward (ip_forward is off in a new namespace), so this only
// makes the hub's other addresses reachable.
func (ns *NS) Route(t testing.TB, dst string, gw netip.Addr) {
	t.Helper()
	if err := ip("-n", ns.Name, "route", "add", dst, "via", gw.String()); err != nil {
		t.Fatalf("netns %s: %v", ns.Name, err)
	}
}

// Addrs returns the addresses Link gave this namespace, in order.
func (ns *NS) Addrs() []netip.Addr {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return append([]netip.Addr(nil), ns.addrs...)
}

// Command returns a command that runs name inside the namespace through
// `ip netns exec` (which execs name without forking, so cmd.Process.Pid is
// the program's own pid). The namespace's cleanup kills it if it is still
// running; callers that Start it should still Wait for it.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	ns.mu.Lock()
	ns.cmds = append(ns.cmds, cmd)
	ns.mu.Unlock()
	return cmd
}

// Listen creates a listener inside the namespace (see Run).
func (ns *NS) Listen(network, address string) (net.Listener, error) {
	var l net.Listener
	err := ns.Run(func() error {
		var err error
		l, err = net.Listen(network, address)
		return err
	})
	return l, err
}

// DialContext connects from inside the namespace; its signature fits
// http.Transport.DialContext, so an http.Client can reach servers inside.
// Use IP literals: name resolution may run on other threads.
func (ns *NS) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := ns.Run(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// String returns the namespace's name.
func (ns *NS) String() string { return ns.Name }

func (ns *NS) addAddr(a netip.Addr) {
	ns.mu.Lock()
	ns.addrs = append(ns.addrs, a)
	ns.mu.Unlock()
}

// destroy kills what runs inside and deletes the namespace.
func (ns *NS) destroy() {
	ns.mu.Lock()
	cmds := ns.cmds
	ns.mu.Unlock()
	for _, c := range cmds {
		if c.Process != nil {
			// Harmless when it already exited: Kill then returns an error.
			_ = c.Process.Kill()
		}
	}
	killInside(ns.Name)
	_ = ip("netns", "del", ns.Name)
}

// killInside kills every process whose network namespace is name: only
// processes this test started there can be in it.
func killInside(name string) {
	out, err := exec.Command("ip", "netns", "pids", name).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 1 || pid == os.Getpid() {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// sweepStale deletes namespaces named hearth-<pid>-… whose test process
// no longer exists (a test binary killed by a timeout leaves them).
func sweepStale() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "hearth-") {
			continue
		}
		rest := strings.TrimPrefix(f[0], "hearth-")
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat("/proc/" + pidStr); err == nil {
			continue // its test is still running
		}
		killInside(f[0])
		_ = ip("netns", "del", f[0])
	}
}

func probe() error {
	if os.Geteuid() != 0 {
		return errors.New("netns: not root (network namespaces need root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("netns: the ip tool (Debian package iproute2) is missing: %w", err)
	}
	if err := setnsSupported(); err != nil {
		return err
	}
	name := prefix() + "probe"
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("netns: cannot create a network namespace (ip netns add): %v: %s", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Errorf("netns: cannot delete a network namespace (ip netns del): %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// pair returns the first two host addresses of an IPv4 subnet.
func pair(subnet string) (a, b netip.Addr, bits int, err error) {
	p, err := netip.ParsePrefix(subnet)
	if err != nil {
		return a, b, 0, fmt.Errorf("parse subnet %q: %w", subnet, err)
	}
	p = p.Masked()
	if !p.Addr().Is4() || p.Bits() > 30 {
		return a, b, 0, fmt.Errorf("subnet %q: want an IPv4 prefix of /30 or wider", subnet)
	}
	if !p.Addr().IsPrivate() {
		return a, b, 0, fmt.Errorf("subnet %q: want a private range (10.213.0.0/16 by convention)", subnet)
	}
	a = p.Addr().Next()
	return a, a.Next(), p.Bits(), nil
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 32 {
			break
		}
	}
	if b.Len() == 0 {
		return "ns"
	}
	return b.String()
}
