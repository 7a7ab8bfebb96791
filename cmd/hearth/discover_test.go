package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/enginetest/netns"
)

func TestDiscoverUsage(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"discover", "extra"}, exitUsage, "takes no arguments"},
		{[]string{"discover", "--timeout", "0s"}, exitUsage, "--timeout"},
		{[]string{"discover", "--timeout", "2h"}, exitUsage, "at most 1m0s"},
		// Only lists the host's interfaces: nothing is sent.
		{[]string{"discover", "--interface", "hearth-nope0"}, exitUsage, `no network interface "hearth-nope0"`},
	}
	for _, tt := range tests {
		code, out, errOut := runHearth(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.msg) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("hearth %s = %d, %q, %q; want exit %d and one line with %q", strings.Join(tt.args, " "), code, out, errOut, tt.code, tt.msg)
		}
	}
	code, out, _ := runHearth(t, "discover", "--help")
	for _, want := range []string{"--timeout", "--json", "--interface", "Examples:", "_hearth._tcp"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("discover --help = %d, lacks %q:\n%s", code, want, out)
		}
	}
}

func TestDiscoverTable(t *testing.T) {
	devs := []mdns.Entry{
		{Instance: "Kitchen NAS", Port: 9091, Version: "1.2.3", PairingOpen: true,
			Addrs: []netip.Addr{netip.MustParseAddr("fe80::1%eth0"), netip.MustParseAddr("192.168.1.20")}},
		{Instance: "Attic", Port: 8080, Addrs: []netip.Addr{netip.MustParseAddr("192.168.1.21")}},
	}
	got := discoverTable(devs, 100)
	for _, want := range []string{"NAME", "PAIRING", "Kitchen NAS", "192.168.1.20 (+1)", "9091", "1.2.3", "open", "Attic", "closed"} {
		if !strings.Contains(got, want) {
			t.Errorf("discoverTable lacks %q:\n%s", want, got)
		}
	}
}

// discoverHelperEnv makes TestDiscoverAdvertiserHelper run an advertiser
// (inside a namespace, started by TestDiscoverNetns) until stdin closes.
const discoverHelperEnv = "HEARTH_TEST_DISCOVER_ADVERTISER"

func TestDiscoverAdvertiserHelper(t *testing.T) {
	raw := os.Getenv(discoverHelperEnv)
	if raw == "" {
		t.Skip("helper process for TestDiscoverNetns")
	}
	var cfg mdns.Config
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	a, err := mdns.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for deadline := time.Now().Add(15 * time.Second); !a.Status().Advertising; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not advertising after 15 s")
		}
	}
	os.Stdout.WriteString("advertising " + a.Name() + "\n")
	bufio.NewReader(os.Stdin).ReadString('\n') // until the test closes stdin
}

// TestDiscoverNetns: an advertiser in namespace A, "hearth discover" (the
// real binary) in namespace B finds it; with nothing there it says so.
func TestDiscoverNetns(t *testing.T) {
	a, b := netns.New(t, "discA"), netns.New(t, "discB")
	addrA, addrB := netns.Link(t, a, b, "")
	ifA, ifB := discoverIface(t, a, addrA), discoverIface(t, b, addrB)
	bin := hearthBinary(t)

	run := func(args ...string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := b.Command(ctx, bin, args...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("hearth %s in %s: %v\n%s%s", strings.Join(args, " "), b, err, out.String(), errb.String())
		}
		return out.String(), errb.String()
	}

	out, _ := run("discover", "--interface", ifB, "--timeout", "1s")
	if !strings.Contains(out, "no Hearth device answered within 1s on "+ifB) {
		t.Errorf("discover on an empty LAN = %q, want the no-device line", out)
	}

	cfg := mdns.Config{ID: "d15c0fe7", Name: "Shed NAS", Model: "Test", Version: "9.9.9", Port: 9091,
		Interfaces: []string{ifA}, PairingOpen: true}
	raw, _ := json.Marshal(cfg)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	adv := a.Command(context.Background(), exe, "-test.run=^TestDiscoverAdvertiserHelper$", "-test.v")
	adv.Env = append(os.Environ(), discoverHelperEnv+"="+string(raw))
	stdin, _ := adv.StdinPipe()
	stdout, _ := adv.StdoutPipe()
	if err := adv.Start(); err != nil {
		t.Fatalf("start advertiser in %s: %v", a, err)
	}
	t.Cleanup(func() { stdin.Close(); adv.Wait() })
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "advertising ") {
				ready <- sc.Text()
			}
		}
		close(ready)
	}()
	select {
	case l, ok := <-ready:
		if !ok {
			t.Fatal("advertiser helper exited before advertising")
		}
		t.Log(l)
	case <-time.After(30 * time.Second):
		t.Fatal("advertiser helper not advertising within 30 s")
	}

	out, _ = run("discover", "--json", "--interface", ifB, "--timeout", "2s")
	var res struct{ Devices []mdns.Entry }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("discover --json: %v\n%s", err, out)
	}
	if len(res.Devices) != 1 {
		t.Fatalf("discover --json found %d devices, want 1:\n%s", len(res.Devices), out)
	}
	d := res.Devices[0]
	found := false
	for _, x := range d.Addrs {
		found = found || x == addrA
	}
	if d.Instance != "Shed NAS" || d.Port != 9091 || d.Version != "9.9.9" || !d.PairingOpen || d.ID != "d15c0fe7" || !found {
		t.Errorf("discover --json = %+v, want Shed NAS port 9091 version 9.9.9 pairing open at %v", d, addrA)
	}

	out, _ = run("discover", "--interface", ifB, "--timeout", "2s")
	for _, want := range []string{"Shed NAS", addrA.String(), "9091", "9.9.9", "open"} {
		if !strings.Contains(out, want) {
			t.Errorf("discover output lacks %q:\n%s", want, out)
		}
	}
}

// discoverIface returns the name of the interface inside ns that has addr.
func discoverIface(t *testing.T, ns *netns.NS, addr netip.Addr) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-o", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s addr: %v: %s", ns, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[3], addr.String()+"/") {
			return f[1]
		}
	}
	t.Fatalf("no interface with %s in %s", addr, ns)
	return ""
}
