package mdns

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Every wait below is a bound that catches a hang, not a speed goal: on
// this machine a device shows up in about a second.
const waitLimit = 15 * time.Second

func testConfig(id, name string, iface string) Config {
	return Config{ID: id, Name: name, Model: "Test NAS", Version: "1.2.3", Port: 9091,
		Interfaces: []string{iface}, PollInterval: 200 * time.Millisecond}
}

// TestAdvertiseBrowse: a device advertised in namespace A is found from
// namespace B with every TXT field, on both service types; the time from
// Start until B's watcher sees it is logged.
func TestAdvertiseBrowse(t *testing.T) {
	l := newLAN(t)
	w := startHelper(t, l.b, "watchB", "watch", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceB}})
	w.waitFor(waitLimit, "watcher start", func(h helperLine) bool { return h.Event == "watching" })

	cfg := testConfig("0a1b2c3d4e5f60718293a4b5c6d7e8f9", "Living room. NAS (ü)", l.ifaceA)
	cfg.TXT = map[string]string{"ch": "AAECAwQFBgc="}
	adv := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: cfg})
	started := adv.waitFor(waitLimit, "start", func(h helperLine) bool { return h.Event == "started" })
	st := adv.advertising(waitLimit)
	if st.Name != cfg.Name || len(st.Interfaces) != 1 || st.Interfaces[0] != l.ifaceA {
		t.Errorf("status = %+v, want name %q on %s", st, cfg.Name, l.ifaceA)
	}
	added := w.waitFor(waitLimit, "added event", func(h helperLine) bool { return h.Event == "added" })
	t.Logf("time from Start in A to seen in B: %d ms", added.UnixMs-started.UnixMs)

	e := added.Entry
	checks := []struct {
		field, got, want string
	}{
		{"Instance", e.Instance, cfg.Name},
		{"Service", e.Service, ServiceHearth},
		{"Host", e.Host, hostLabel(cfg.ID) + ".local."},
		{"Port", fmt.Sprint(e.Port), "9091"},
		{"ID", e.ID, cfg.ID},
		{"Name", e.Name, cfg.Name},
		{"Model", e.Model, "Test NAS"},
		{"Version", e.Version, "1.2.3"},
		{"API", e.API, APIPath},
		{"RPC", e.RPC, RPCPath},
		{"PairingOpen", fmt.Sprint(e.PairingOpen), "false"},
		{"TXT ch", e.TXT["ch"], "AAECAwQFBgc="},
		{"Interfaces", strings.Join(e.Interfaces, ","), l.ifaceB},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("entry %s = %q, want %q", c.field, c.got, c.want)
		}
	}
	if !hasAddr(e, l.addrA) {
		t.Errorf("entry addrs = %v, want %v among them", e.Addrs, l.addrA)
	}

	// A one-shot Browse of both types.
	for _, svc := range []string{ServiceHearth, ServiceHTTP} {
		b := startHelper(t, l.b, "browse"+svc, "browse", helperArgs{Service: svc, Ifaces: []string{l.ifaceB}, Timeout: 1500 * time.Millisecond})
		res := b.waitFor(waitLimit, "browse result", func(h helperLine) bool { return h.Event == "browse" })
		if len(res.Entries) != 1 || res.Entries[0].Instance != cfg.Name || res.Entries[0].Port != 9091 || !hasAddr(&res.Entries[0], l.addrA) {
			t.Errorf("Browse(%s) = %+v, want one entry %q port 9091 at %v", svc, res.Entries, cfg.Name, l.addrA)
		}
	}
}

// TestUpdateAndGoodbye: pairing and extra TXT changes reach a watcher as
// updates, with no removal in between (the re-registration's goodbye is
// covered by the one-second grace); Close makes the entry go away; the
// advertiser leaves no goroutine behind.
func TestUpdateAndGoodbye(t *testing.T) {
	l := newLAN(t)
	w := startHelper(t, l.b, "watchB", "watch", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceB}})
	w.waitFor(waitLimit, "watcher start", func(h helperLine) bool { return h.Event == "watching" })
	adv := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: testConfig("feedc0de", "Kitchen", l.ifaceA)})
	adv.advertising(waitLimit)
	w.waitFor(waitLimit, "added", func(h helperLine) bool { return h.Event == "added" })

	adv.send("pair 1")
	adv.send("txt ch=c2hvcnQ")
	var removed bool
	w.waitFor(waitLimit, "update with pairing open and ch", func(h helperLine) bool {
		removed = removed || h.Event == "removed"
		return h.Event == "updated" && h.Entry.PairingOpen && h.Entry.TXT["ch"] == "c2hvcnQ"
	})
	if removed {
		t.Errorf("watcher saw the device removed during a TXT update")
	}

	mem := adv.waitFor(waitLimit, "mem", func(h helperLine) bool { return h.Event == "mem" })
	t.Logf("advertiser: heap +%d KiB, %d goroutines while running", mem.HeapDelta/1024, mem.Running)

	closedAt := time.Now()
	adv.send("close")
	gone := w.waitFor(waitLimit, "removed", func(h helperLine) bool { return h.Event == "removed" })
	t.Logf("removal seen %d ms after close", gone.UnixMs-closedAt.UnixMilli())
	if gone.Entry.Instance != "Kitchen" {
		t.Errorf("removed %q, want Kitchen", gone.Entry.Instance)
	}
	c := adv.waitFor(waitLimit, "closed", func(h helperLine) bool { return h.Event == "closed" })
	if c.Goroutines > c.Base {
		t.Errorf("goroutines after Close = %d, want at most %d (before Start); stacks in the log", c.Goroutines, c.Base)
	}
}

// TestNameConflict: a second device with a taken name probes, finds the
// first and becomes "Name (2)"; two devices that start at the same moment
// end with distinct names, the lower id keeping the plain one.
func TestNameConflict(t *testing.T) {
	t.Run("established", func(t *testing.T) {
		l := newLAN(t)
		a := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: testConfig("aaaa", "Attic", l.ifaceA)})
		a.advertising(waitLimit)
		b := startHelper(t, l.b, "advB", "advertise", helperArgs{Config: testConfig("bbbb", "Attic", l.ifaceB)})
		if st := b.advertising(waitLimit); st.Name != "Attic (2)" || st.Renames != 1 {
			t.Errorf("second device status = %+v, want name \"Attic (2)\" after one rename", st)
		}
		// The first one keeps its name: nothing made it rename.
		w := startHelper(t, l.b, "browseB", "browse", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceB}, Timeout: 2 * time.Second})
		res := w.waitFor(waitLimit, "browse", func(h helperLine) bool { return h.Event == "browse" })
		got := map[string]string{}
		for _, e := range res.Entries {
			got[e.Instance] = e.ID
		}
		if len(got) != 2 || got["Attic"] != "aaaa" || got["Attic (2)"] != "bbbb" {
			t.Errorf("browse = %v, want Attic=aaaa and Attic (2)=bbbb", got)
		}
	})
	t.Run("simultaneous", func(t *testing.T) {
		// Both probe at once, find nothing and register; their
		// verification queries then show each other the conflict and the
		// tie-break (lower host name, i.e. id, keeps the name; see
		// TestWinsAgainst) leaves exactly one renamed. When one starts a
		// little later it instead finds the other while probing: either
		// way the names end distinct.
		l := newLAN(t)
		a := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: testConfig("zzzz", "Porch", l.ifaceA)})
		b := startHelper(t, l.b, "advB", "advertise", helperArgs{Config: testConfig("0000", "Porch", l.ifaceB)})
		a.advertising(waitLimit)
		b.advertising(waitLimit)
		w := startHelper(t, l.b, "watchB", "watch", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceB}})
		names := map[string]string{}
		deadline := time.Now().Add(waitLimit)
		for time.Now().Before(deadline) && !(names["Porch"] != "" && names["Porch (2)"] != "") {
			h := w.waitFor(time.Until(deadline), "entries", func(h helperLine) bool { return h.Entry != nil })
			if h.Event == "removed" {
				delete(names, h.Entry.Instance)
			} else {
				names[h.Entry.Instance] = h.Entry.ID
			}
		}
		if len(names) != 2 || names["Porch"] == names["Porch (2)"] || names["Porch"] == "" || names["Porch (2)"] == "" {
			t.Errorf("watcher sees %v, want Porch and Porch (2), one device each", names)
		}
	})
}

// TestAddressChange: when the advertiser's address changes, it announces
// again and a watcher's entry follows (new address in, old one out).
func TestAddressChange(t *testing.T) {
	l := newLAN(t)
	w := startHelper(t, l.b, "watchB", "watch", helperArgs{Service: ServiceHearth, Ifaces: []string{l.ifaceB}})
	w.waitFor(waitLimit, "watcher start", func(h helperLine) bool { return h.Event == "watching" })
	adv := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: testConfig("c0ffee", "Den", l.ifaceA)})
	adv.advertising(waitLimit)
	w.waitFor(waitLimit, "added", func(h helperLine) bool { return h.Event == "added" && hasAddr(h.Entry, l.addrA) })

	// A "DHCP renewal" that hands A another address in the same subnet.
	newAddr := l.addrA.Next().Next().Next().Next().Next().Next().Next().Next()
	bits := 24
	// Delete first: deleting a primary address takes the secondaries of its
	// subnet with it.
	ipIn(t, l.a, "addr", "del", fmt.Sprintf("%s/%d", l.addrA, bits), "dev", l.ifaceA)
	ipIn(t, l.a, "addr", "add", fmt.Sprintf("%s/%d", newAddr, bits), "dev", l.ifaceA)
	changed := time.Now()
	h := w.waitFor(waitLimit, "update to the new address", func(h helperLine) bool {
		return h.Event == "updated" && hasAddr(h.Entry, newAddr) && !hasAddr(h.Entry, l.addrA)
	})
	t.Logf("new address seen %d ms after the change (poll 200 ms)", h.UnixMs-changed.UnixMilli())
	adv.waitFor(waitLimit, "second registration", func(h helperLine) bool {
		return h.Event == "status" && h.Status.Registrations >= 2 && h.Status.Advertising
	})
}

// TestWANQueryUnanswered: a router advertises on its LAN port only. Even
// when another program on the router (avahi, say) listens for mDNS on the
// WAN port, a query from the WAN side gets no answer.
func TestWANQueryUnanswered(t *testing.T) {
	router, lanHost, wanHost := netnsNew(t, "router"), netnsNew(t, "lanhost"), netnsNew(t, "wanhost")
	rLAN, hLAN := linkPair(t, router, lanHost)
	rWAN, hWAN := linkPair(t, router, wanHost)
	_ = rWAN
	// The "avahi" on the WAN port: any socket that joins the group there.
	startHelper(t, router, "wanListener", "watch", helperArgs{Service: "_other._tcp", Ifaces: []string{rWAN}}).
		waitFor(waitLimit, "listener start", func(h helperLine) bool { return h.Event == "watching" })
	adv := startHelper(t, router, "advRouter", "advertise", helperArgs{Config: testConfig("1234", "Router", rLAN)})
	adv.advertising(waitLimit)

	for _, side := range []struct {
		ns    string
		iface string
		want  int
	}{{"lan", hLAN, 1}, {"wan", hWAN, 0}} {
		host := lanHost
		if side.ns == "wan" {
			host = wanHost
		}
		b := startHelper(t, host, "browse-"+side.ns, "browse", helperArgs{Service: ServiceHearth, Ifaces: []string{side.iface}, Timeout: 2500 * time.Millisecond})
		res := b.waitFor(waitLimit, "browse", func(h helperLine) bool { return h.Event == "browse" })
		if len(res.Entries) != side.want {
			t.Errorf("browse from the %s side = %+v, want %d entries", side.ns, res.Entries, side.want)
		}
	}
}

// TestDefaultInterfaces checks the default rule inside a namespace with
// one interface of each kind (no traffic is sent).
func TestDefaultInterfaces(t *testing.T) {
	ns := netnsNew(t, "ifaces")
	peer := netnsNew(t, "ifpeer")
	lanIf, _ := linkPair(t, ns, peer)
	dummies := []struct {
		name, addr string
		up         bool
	}{
		{"wan0", "10.213.200.1/24", true},      // WAN-looking name
		{"pub0", "203.0.113.5/24", true},       // public address only (TEST-NET-3)
		{"ll0", "169.254.7.7/16", true},        // IPv4 link-local: a LAN without DHCP
		{"ula0", "fd12:3456:789a::1/64", true}, // IPv6 unique local
		{"down0", "10.213.201.1/24", false},    // down
	}
	for _, d := range dummies {
		// veth pairs inside one namespace (the machine has no dummy
		// driver); the peer ends stay down and address-less.
		ipIn(t, ns, "link", "add", d.name, "type", "veth", "peer", "name", d.name+"p")
		ipIn(t, ns, "addr", "add", d.addr, "dev", d.name)
		if d.up {
			ipIn(t, ns, "link", "set", d.name, "up")
		}
	}
	ipIn(t, ns, "link", "set", "lo", "multicast", "on") // loopback never counts

	tests := []struct {
		names []string
		want  string
	}{
		{nil, lanIf + ",ll0,ula0"},
		{[]string{"ll0p"}, ""},                  // exists but down
		{[]string{"pub0", "wan0"}, "pub0,wan0"}, // explicit names are taken as given
		{[]string{"down0", lanIf}, lanIf},       // down: left out
	}
	for _, tt := range tests {
		h := startHelper(t, ns, "ifaces", "ifaces", helperArgs{Ifaces: tt.names})
		res := h.waitFor(waitLimit, "ifaces", func(h helperLine) bool { return h.Event == "ifaces" })
		if got := strings.Join(res.Ifaces, ","); got != tt.want {
			t.Errorf("Interfaces(%q) = %s, want %s", tt.names, got, tt.want)
		}
	}
}

// TestHostNameAnswered: the device answers address questions for its host
// name (zeroconf does not), to mDNS and legacy unicast askers alike.
func TestHostNameAnswered(t *testing.T) {
	l := newLAN(t)
	cfg := testConfig("beefcafe", "Cellar", l.ifaceA)
	adv := startHelper(t, l.a, "advA", "advertise", helperArgs{Config: cfg})
	adv.advertising(waitLimit)
	host := hostLabel(cfg.ID) + ".local."
	r := startHelper(t, l.b, "resolveB", "resolve", helperArgs{Service: host, Ifaces: []string{l.ifaceB}, Timeout: 2 * time.Second})
	want := host + " " + l.addrA.String()
	for _, ev := range []string{"legacy", "multicast"} {
		h := r.waitFor(waitLimit, ev+" answer", func(h helperLine) bool { return h.Event == ev })
		if len(h.Ifaces) != 1 || h.Ifaces[0] != want {
			t.Errorf("%s A query for %s = %q, want [%q]", ev, host, h.Ifaces, want)
		}
	}
}
