package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/engine/store"
)

func TestDeviceID(t *testing.T) {
	st, err := store.Open(store.Options{Backend: store.BackendMemory})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := deviceID(st)
	if err != nil || len(a) != 32 {
		t.Fatalf("deviceID = %q, %v; want a new 32-digit id", a, err)
	}
	if b, err := deviceID(st); err != nil || b != a {
		t.Errorf("deviceID again = %q, %v; want the stored %q", b, err, a)
	}
}

// discoverIn runs "hearth discover --json" in ns on iface and returns the
// devices it lists.
func discoverIn(t *testing.T, ns *netns.NS, iface string, timeout time.Duration) []mdns.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := ns.Command(ctx, hearthBinary(t), "discover", "--json", "--interface", iface, "--timeout", timeout.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hearth discover in %s: %v\n%s", ns, err, out)
	}
	var res struct{ Devices []mdns.Entry }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("hearth discover --json: %v\n%s", err, out)
	}
	return res.Devices
}

// TestServeMDNS: "hearth serve" listening on every interface in namespace
// A advertises itself; "hearth discover" in namespace B lists it with its
// port and id, sees the pairing window open and close, and, run across
// the daemon's shutdown, drops it (the goodbye: without it the record
// would stay cached for minutes).
func TestServeMDNS(t *testing.T) {
	a, b := netns.New(t, "mdnsA"), netns.New(t, "mdnsB")
	addrA, addrB := netns.Link(t, a, b, "")
	ifB := discoverIface(t, b, addrB)
	d, port := startLANDaemon(t, a)
	ctx := context.Background()

	var dev mdns.Entry
	for deadline := time.Now().Add(20 * time.Second); ; {
		devs := discoverIn(t, b, ifB, 2*time.Second)
		if len(devs) == 1 {
			dev = devs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hearth discover in B = %+v, want the daemon\n%s", devs, logTail(d.logPath, 30))
		}
	}
	logs := logTail(d.logPath, 500)
	if dev.Port != port || len(dev.ID) != 32 || !strings.Contains(logs, "id="+dev.ID) || dev.PairingOpen || dev.Version != "e2e-test" {
		t.Errorf("discovered %+v; want port %d, the id the daemon logged, version e2e-test, pairing closed", dev, port)
	}
	found := false
	for _, x := range dev.Addrs {
		found = found || x == addrA
	}
	if !found {
		t.Errorf("discovered addresses %v, want %v among them", dev.Addrs, addrA)
	}
	if !strings.Contains(logs, "mdns started") {
		t.Errorf("no \"mdns started\" line in the log:\n%s", logTail(d.logPath, 30))
	}

	// The pairing window (the button's, here from the CLI) shows in the
	// record while it is open.
	d.mustCLI(ctx, "pair", "--open", "--for", "1m")
	waitDiscovered(t, b, ifB, "pairing open", func(e mdns.Entry) bool { return e.PairingOpen })
	d.mustCLI(ctx, "pair", "--close")
	waitDiscovered(t, b, ifB, "pairing closed", func(e mdns.Entry) bool { return !e.PairingOpen })

	// Shutdown: a discover that saw the daemon, running while it stops,
	// ends without it.
	type result struct{ devs []mdns.Entry }
	done := make(chan result, 1)
	go func() {
		cmd := b.Command(ctx, hearthBinary(t), "discover", "--json", "--interface", ifB, "--timeout", "6s")
		out, _ := cmd.Output()
		var res struct{ Devices []mdns.Entry }
		json.Unmarshal(out, &res)
		done <- result{res.Devices}
	}()
	time.Sleep(2500 * time.Millisecond) // discover has seen it by now (1.25 s on this machine)
	terminate(t, d.cmd.Process, d.done)
	if r := <-done; len(r.devs) != 0 {
		t.Errorf("hearth discover across the shutdown = %+v, want nothing (goodbye)", r.devs)
	}
}

// waitDiscovered runs discover in ns until the one device it lists
// satisfies ok.
func waitDiscovered(t *testing.T, ns *netns.NS, iface, what string, ok func(mdns.Entry) bool) mdns.Entry {
	t.Helper()
	var devs []mdns.Entry
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		devs = discoverIn(t, ns, iface, 1500*time.Millisecond)
		if len(devs) == 1 && ok(devs[0]) {
			return devs[0]
		}
	}
	t.Fatalf("hearth discover: %s not seen within 20 s; last %+v", what, devs)
	return mdns.Entry{}
}

// lanSegment joins namespaces into one Ethernet segment: a bridge in a
// hub namespace and a veth pair per member, every member with an address
// in 10.213.200.0/24 on its interface "lan0". Nothing touches the host's
// interfaces.
type lanSegment struct {
	t   *testing.T
	hub *netns.NS
	n   int
}

func newLANSegment(t *testing.T) *lanSegment {
	t.Helper()
	s := &lanSegment{t: t, hub: netns.New(t, "hub")}
	s.ip("-n", s.hub.Name, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
	s.ip("-n", s.hub.Name, "link", "set", "br0", "up")
	return s
}

func (s *lanSegment) ip(args ...string) {
	s.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		s.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// join makes a member namespace and returns it with its address.
func (s *lanSegment) join(name string) (*netns.NS, netip.Addr) {
	s.t.Helper()
	ns := netns.New(s.t, name)
	s.n++
	port := fmt.Sprintf("p%d", s.n)
	addr := netip.AddrFrom4([4]byte{10, 213, 200, byte(s.n)})
	s.ip("link", "add", "lan0", "netns", ns.Name, "type", "veth", "peer", "name", port, "netns", s.hub.Name)
	s.ip("-n", s.hub.Name, "link", "set", port, "master", "br0")
	s.ip("-n", s.hub.Name, "link", "set", port, "up")
	s.ip("-n", ns.Name, "addr", "add", addr.String()+"/24", "dev", "lan0")
	s.ip("-n", ns.Name, "link", "set", "lan0", "up")
	return ns, addr
}

// startLANNode runs "hearth serve" in ns on every interface with the DHT
// off (interopEnv), mDNS on lan0, and channel polls an hour apart: what
// arrives sooner came through the LAN. extraEnv adds or overrides
// environment settings (HEARTH_PROFILE=router, …).
func startLANNode(t *testing.T, ns *netns.NS, extraEnv ...string) *nsDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &nsDaemon{t: t, ns: ns, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "hearth.log"),
		peerPort: freePortIn(t, ns), done: make(chan error, 1), env: interopEnv(dir)}
	port := freePortIn(t, ns)
	for port == d.peerPort {
		port = freePortIn(t, ns)
	}
	d.api = "http://127.0.0.1:" + strconv.Itoa(port)
	d.cmd = ns.Command(context.Background(), hearthBinary(t), "serve", "--data-dir", d.dataDir, "--peer-port", strconv.Itoa(d.peerPort))
	d.cmd.Env = append(d.env, "HEARTH_LISTEN=:"+strconv.Itoa(port), "HEARTH_DEVICE_INTERFACES=lan0",
		"HEARTH_DEVICE_NAME=Hearth in "+ns.Name[len(ns.Name)-12:], "HEARTH_CHANNELS_POLL_INTERVAL=1h")
	d.cmd.Env = append(d.cmd.Env, extraEnv...)
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
			terminate(t, d.cmd.Process, d.done)
		}
		if t.Failed() {
			t.Logf("hearth serve in %s, log:\n%s", ns, logTail(d.logPath, 60))
		}
	})
	hc := nsClient(ns)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := hc.Get(d.api + "/api/v1/version"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
	}
	t.Fatalf("hearth serve in %s did not answer within 30 s\n%s", ns, logTail(d.logPath, 40))
	return nil
}

func nsClient(ns *netns.NS) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: ns.DialContext, DisableKeepAlives: true}, Timeout: 5 * time.Second}
}

// subscription reads GET /api/v1/subscriptions/{ref} from inside the
// daemon's namespace (loopback: trusted).
func (d *nsDaemon) lanSubscription(hc *http.Client, ref string) (channel.Subscription, error) {
	var s channel.Subscription
	resp, err := hc.Get(d.api + "/api/v1/subscriptions/" + ref)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET subscription: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// waitSynced polls the subscription until version is complete.
func (d *nsDaemon) lanWaitSynced(ref string, version int64, timeout time.Duration) channel.Subscription {
	d.t.Helper()
	hc := nsClient(d.ns)
	var s channel.Subscription
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		if s, err = d.lanSubscription(hc, ref); err == nil && s.Version == version && s.State == channel.StateSynced {
			return s
		}
	}
	d.t.Fatalf("%s: version %d not synced within %s: version %d (latest %d), state %q, error %q, reject %q (%v)",
		d.ns, version, timeout, s.Version, s.Latest, s.State, s.Error, s.LastReject, err)
	return s
}

// TestChannelsLAN is the channels issue's LAN test: three real daemons on
// one virtual Ethernet segment (three namespaces on a bridge), the DHT
// switched off. The publisher creates a channel and publishes version 1;
// two subscribers subscribe with its link and get it; the publisher adds
// a file and publishes version 2, and the subscribers get it with no
// action, within seconds although their next poll is an hour away.
func TestChannelsLAN(t *testing.T) {
	seg := newLANSegment(t)
	pubNS, _ := seg.join("pub")
	sub1NS, _ := seg.join("sub1")
	sub2NS, _ := seg.join("sub2")
	pub := startLANNode(t, pubNS)
	subs := []*nsDaemon{startLANNode(t, sub1NS), startLANNode(t, sub2NS)}
	ctx := context.Background()

	src := t.TempDir()
	photos := map[string]int{"Holiday/IMG_0001.jpg": 700_000, "Holiday/IMG_0002.jpg": 450_000, "Holiday/clip.mp4": 3_000_000}
	for p, n := range photos {
		writeLANFile(t, filepath.Join(src, p), n)
	}
	pub.mustCLI(ctx, "channel", "create", "Family photos")
	pub.mustCLI(ctx, "channel", "add", "Family photos", filepath.Join(src, "Holiday"))
	pub.mustCLI(ctx, "channel", "publish", "Family photos")
	link := strings.TrimSpace(pub.mustCLI(ctx, "channel", "link", "Family photos"))
	var chans struct{ Channels []channel.Channel }
	json.Unmarshal([]byte(pub.mustCLI(ctx, "channel", "ls", "--json")), &chans)
	if len(chans.Channels) != 1 || chans.Channels[0].Version != 1 {
		t.Fatalf("hearth channel ls --json = %+v, want one channel at version 1", chans.Channels)
	}
	ch := chans.Channels[0]

	refs := make([]string, len(subs))
	for i, s := range subs {
		var sub channel.Subscription
		if err := json.Unmarshal([]byte(s.mustCLI(ctx, "subscribe", "--json", link)), &sub); err != nil || sub.ID == "" {
			t.Fatalf("hearth subscribe --json: %v", err)
		}
		refs[i] = sub.ID
	}
	for i, s := range subs {
		got := s.lanWaitSynced(refs[i], 1, 90*time.Second)
		for p := range photos {
			sameLANFile(t, filepath.Join(ch.Dir, p), filepath.Join(got.Dir, p))
		}
	}

	// Version 2: one more photo; the subscribers do nothing.
	writeLANFile(t, filepath.Join(src, "IMG_0100.jpg"), 600_000)
	pub.mustCLI(ctx, "channel", "add", "Family photos", filepath.Join(src, "IMG_0100.jpg"))
	start := time.Now()
	pub.mustCLI(ctx, "channel", "publish", "Family photos")
	for i, s := range subs {
		got := s.lanWaitSynced(refs[i], 2, 60*time.Second)
		t.Logf("%s: version 2 complete %s after \"hearth channel publish\" returned", s.ns, time.Since(start).Round(time.Millisecond))
		sameLANFile(t, filepath.Join(ch.Dir, "IMG_0100.jpg"), filepath.Join(got.Dir, "IMG_0100.jpg"))
		if got.Downloaded > 2*600_000+256<<10 {
			t.Errorf("%s: version 2 downloaded %d bytes for a 600 kB photo: unchanged files came again", s.ns, got.Downloaded)
		}
		logs, _ := os.ReadFile(s.logPath)
		if !strings.Contains(string(logs), "channel version offered by a LAN neighbour") {
			t.Errorf("%s: no \"offered by a LAN neighbour\" line: version 2 did not come through the LAN push", s.ns)
		}
	}
	for _, d := range append([]*nsDaemon{pub}, subs...) {
		logs, _ := os.ReadFile(d.logPath)
		if !strings.Contains(string(logs), "dht=false") {
			t.Errorf("%s: the log does not show the channels running without the DHT (dht=false)", d.ns)
		}
	}
}

func writeLANFile(t *testing.T, path string, n int) {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sameLANFile(t *testing.T, want, got string) {
	t.Helper()
	a, err1 := os.ReadFile(want)
	b, err2 := os.ReadFile(got)
	if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s (%v, %v)", got, want, err1, err2)
	}
}
