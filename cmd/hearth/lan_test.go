package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
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
