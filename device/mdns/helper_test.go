package mdns

import (
	"bufio"
	"net"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
)

// The network tests run advertisers and browsers as separate processes
// inside network namespaces the test makes: the test binary re-executed
// with `ip netns exec` in a helper mode. That keeps every socket, every
// interface lookup and every zeroconf goroutine inside the namespace
// (switching one OS thread with setns would not: zeroconf starts
// goroutines of its own), and never touches the host's interfaces.

const (
	helperEnv     = "HEARTH_MDNS_HELPER"
	helperArgsEnv = "HEARTH_MDNS_HELPER_ARGS"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode))
	}
	os.Exit(m.Run())
}

// helperArgs configure a helper process.
type helperArgs struct {
	Config  Config        `json:"config"`
	Ifaces  []string      `json:"ifaces"`
	Service string        `json:"service"`
	Timeout time.Duration `json:"timeout"`
}

// helperLine is one JSON line a helper prints.
type helperLine struct {
	Event   string   `json:"event"`
	UnixMs  int64    `json:"unixMs"`
	Status  *Status  `json:"status,omitempty"`
	Entry   *Entry   `json:"entry,omitempty"`
	Entries []Entry  `json:"entries,omitempty"`
	Ifaces  []string `json:"ifaces,omitempty"`
	Err     string   `json:"err,omitempty"`
	// advertise: goroutines before Start and after Close, heap growth.
	Base       int   `json:"base,omitempty"`
	Goroutines int   `json:"goroutines,omitempty"`
	HeapDelta  int64 `json:"heapDelta,omitempty"`
	Running    int   `json:"running,omitempty"`
}

func helperMain(mode string) int {
	var args helperArgs
	if err := json.Unmarshal([]byte(os.Getenv(helperArgsEnv)), &args); err != nil {
		fmt.Fprintln(os.Stderr, "helper args:", err)
		return 2
	}
	enc := json.NewEncoder(os.Stdout)
	emit := func(l helperLine) {
		l.UnixMs = time.Now().UnixMilli()
		_ = enc.Encode(l)
	}
	fail := func(err error) int {
		emit(helperLine{Event: "error", Err: err.Error()})
		return 1
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// Stdin closing (the test ended or asked) stops the helper.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmds := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmds <- sc.Text()
		}
		close(cmds)
	}()
	switch mode {
	case "ifaces":
		ifs, err := Interfaces(args.Ifaces)
		if err != nil {
			return fail(err)
		}
		emit(helperLine{Event: "ifaces", Ifaces: ifaceNames(ifs)})
		return 0
	case "resolve":
		// Ask for args.Service (a host name here) twice: as a legacy
		// unicast query from a random port, and as an mDNS query from
		// port 5353; print the addresses each answer carries.
		ifs, err := Interfaces(args.Ifaces)
		if err != nil || len(ifs) != 1 {
			return fail(fmt.Errorf("resolve wants one interface: %v", err))
		}
		legacy, err := resolveLegacy(args.Service, ifs[0], args.Timeout)
		if err != nil {
			return fail(err)
		}
		emit(helperLine{Event: "legacy", Ifaces: legacy})
		mc, err := resolveMulticast(args.Service, ifs, args.Timeout)
		if err != nil {
			return fail(err)
		}
		emit(helperLine{Event: "multicast", Ifaces: mc})
		return 0
	case "browse":
		ifs, err := Interfaces(args.Ifaces)
		if err != nil {
			return fail(err)
		}
		bctx, bcancel := context.WithTimeout(ctx, args.Timeout)
		defer bcancel()
		es, err := Browse(bctx, args.Service, ifs)
		if err != nil {
			return fail(err)
		}
		emit(helperLine{Event: "browse", Entries: es})
		return 0
	case "watch":
		ifs, err := Interfaces(args.Ifaces)
		if err != nil {
			return fail(err)
		}
		go func() {
			for range cmds {
			}
			cancel()
		}()
		emit(helperLine{Event: "watching"})
		err = Watch(ctx, args.Service, ifs, func(ev Event) {
			e := ev.Entry
			emit(helperLine{Event: ev.Kind.String(), Entry: &e})
		})
		if err != nil && ctx.Err() == nil {
			return fail(err)
		}
		return 0
	case "advertise":
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		base := runtime.NumGoroutine()
		a, err := Start(ctx, args.Config, log)
		if err != nil {
			return fail(err)
		}
		emit(helperLine{Event: "started"})
		var last Status
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		memDone := false
		for {
			select {
			case c, ok := <-cmds:
				if !ok {
					a.Close() // the test is over: no goroutine count
					return 0
				}
				if c == "close" {
					a.Close()
					n := runtime.NumGoroutine()
					// zeroconf's announcement goroutine outlives Shutdown
					// by up to 3.5 s (it only sleeps and sends); wait it out.
					for deadline := time.Now().Add(6 * time.Second); n > base && time.Now().Before(deadline); n = runtime.NumGoroutine() {
						time.Sleep(50 * time.Millisecond)
					}
					emit(helperLine{Event: "closed", Base: base, Goroutines: n})
					if n > base {
						buf := make([]byte, 1<<20)
						os.Stderr.Write(buf[:runtime.Stack(buf, true)])
					}
					return 0
				}
				verb, arg, _ := strings.Cut(c, " ")
				switch verb {
				case "pair":
					a.SetPairing(arg == "1")
				case "txt":
					m := map[string]string{}
					for _, kv := range strings.Split(arg, ",") {
						if k, v, ok := strings.Cut(kv, "="); ok {
							m[k] = v
						}
					}
					if err := a.SetTXT(m); err != nil {
						emit(helperLine{Event: "error", Err: err.Error()})
					}
				}
			case <-tick.C:
				s := a.Status()
				if fmt.Sprint(s) != fmt.Sprint(last) {
					last = s
					emit(helperLine{Event: "status", Status: &s})
				}
				if s.Advertising && !memDone {
					memDone = true
					// Let the announcement goroutines finish first.
					go func() {
						time.Sleep(4 * time.Second)
						runtime.GC()
						var after runtime.MemStats
						runtime.ReadMemStats(&after)
						emit(helperLine{Event: "mem", HeapDelta: int64(after.HeapAlloc) - int64(before.HeapAlloc),
							Running: runtime.NumGoroutine() - base})
					}()
				}
			}
		}
	}
	return fail(fmt.Errorf("unknown helper mode %q", mode))
}

// proc is a helper process running inside a namespace.
type proc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan helperLine
	done  chan struct{}
	start time.Time
}

// startHelper runs the test binary in mode inside ns.
func startHelper(t *testing.T, ns *netns.NS, name, mode string, args helperArgs) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, name: name, lines: make(chan helperLine, 100), done: make(chan struct{})}
	p.cmd = ns.Command(context.Background(), exe, "-test.run=^$")
	p.cmd.Env = append(os.Environ(), helperEnv+"="+mode, helperArgsEnv+"="+string(raw))
	p.cmd.Stderr = &logWriter{t: t, prefix: name + ": "}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s helper in %s: %v", mode, ns, err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var l helperLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Errorf("%s: bad line %q: %v", name, sc.Text(), err)
				continue
			}
			if l.Event == "error" {
				t.Errorf("%s: %s", name, l.Err)
			}
			p.lines <- l
		}
		close(p.lines)
		_ = p.cmd.Wait()
	}()
	t.Cleanup(p.stop)
	return p
}

// send writes one command line to the helper.
func (p *proc) send(cmd string) {
	p.t.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		p.t.Fatalf("%s: send %q: %v", p.name, cmd, err)
	}
}

// stop closes stdin (the helper then ends by itself) and waits for it.
func (p *proc) stop() {
	p.stdin.Close()
	go func() {
		for range p.lines {
		}
	}()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitFor returns the first line that satisfies ok within timeout.
func (p *proc) waitFor(timeout time.Duration, what string, ok func(helperLine) bool) helperLine {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, open := <-p.lines:
			if !open {
				p.t.Fatalf("%s exited while waiting for %s", p.name, what)
			}
			if ok(l) {
				return l
			}
		case <-deadline:
			p.t.Fatalf("%s: no %s within %v", p.name, what, timeout)
		}
	}
}

// advertising waits until the advertiser's status says it advertises.
func (p *proc) advertising(timeout time.Duration) Status {
	p.t.Helper()
	return *p.waitFor(timeout, "advertising status", func(l helperLine) bool {
		return l.Event == "status" && l.Status.Advertising
	}).Status
}

type logWriter struct {
	t      *testing.T
	prefix string
}

func (w *logWriter) Write(b []byte) (int, error) {
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if strings.Contains(l, "WARNING: DATA RACE") {
			// A helper built with -race reports here, not in its exit code.
			w.t.Errorf("%sdata race in a helper process (stacks follow in the log)", w.prefix)
		}
		w.t.Log(w.prefix + l)
	}
	return len(b), nil
}

// lan is two namespaces on one veth link.
type lan struct {
	a, b           *netns.NS
	addrA, addrB   netip.Addr
	ifaceA, ifaceB string
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	l := &lan{a: netns.New(t, "mdnsA"), b: netns.New(t, "mdnsB")}
	l.addrA, l.addrB = netns.Link(t, l.a, l.b, "")
	l.ifaceA = ifaceWithAddr(t, l.a, l.addrA)
	l.ifaceB = ifaceWithAddr(t, l.b, l.addrB)
	return l
}

func netnsNew(t *testing.T, name string) *netns.NS { return netns.New(t, name) }

// linkPair joins a and b with a veth pair and returns the interface names.
func linkPair(t *testing.T, a, b *netns.NS) (ifA, ifB string) {
	t.Helper()
	addrA, addrB := netns.Link(t, a, b, "")
	return ifaceWithAddr(t, a, addrA), ifaceWithAddr(t, b, addrB)
}

// ifaceWithAddr returns the name of the interface inside ns that has addr.
func ifaceWithAddr(t *testing.T, ns *netns.NS, addr netip.Addr) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-o", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s addr: %v: %s", ns, err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && strings.HasPrefix(f[3], addr.String()+"/") {
			return strings.TrimSuffix(f[1], "@NONE")
		}
	}
	t.Fatalf("no interface with %s in %s: %s", addr, ns, out)
	return ""
}

func ipIn(t *testing.T, ns *netns.NS, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.Name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, out)
	}
}

func hasAddr(e *Entry, a netip.Addr) bool {
	for _, x := range e.Addrs {
		if x == a {
			return true
		}
	}
	return false
}

func resolveLegacy(host string, ifi net.Interface, timeout time.Duration) ([]string, error) {
	uc, err := net.ListenUDP("udp4", &net.UDPAddr{})
	if err != nil {
		return nil, err
	}
	defer uc.Close()
	if err := ipv4.NewPacketConn(uc).SetMulticastInterface(&ifi); err != nil {
		return nil, err
	}
	q := question(dns.TypeA, host)
	q.Id = 0x4242
	buf, _ := q.Pack()
	if _, err := uc.WriteTo(buf, group4); err != nil {
		return nil, err
	}
	uc.SetReadDeadline(time.Now().Add(timeout))
	rb := make([]byte, maxPacket)
	for {
		n, _, err := uc.ReadFrom(rb)
		if err != nil {
			return nil, nil // no answer
		}
		var m dns.Msg
		if m.Unpack(rb[:n]) != nil || m.Id != 0x4242 {
			continue
		}
		return addrsOf(&m), nil
	}
}

func resolveMulticast(host string, ifs []net.Interface, timeout time.Duration) ([]string, error) {
	c, err := listen(ifs)
	if err != nil {
		return nil, err
	}
	defer c.close()
	pkts := make(chan packet, 16)
	c.start(pkts)
	if err := c.send(question(dns.TypeA, host)); err != nil {
		return nil, err
	}
	deadline := time.After(timeout)
	for {
		select {
		case p := <-pkts:
			// Only an answer made of address records: zeroconf's
			// announcements also carry A records, with SRV and TXT.
			if !p.msg.Response || len(p.msg.Answer) == 0 {
				continue
			}
			onlyAddrs := true
			for _, rr := range p.msg.Answer {
				t := rr.Header().Rrtype
				onlyAddrs = onlyAddrs && (t == dns.TypeA || t == dns.TypeAAAA)
			}
			if onlyAddrs {
				return addrsOf(p.msg), nil
			}
		case <-deadline:
			return nil, nil
		}
	}
}

func addrsOf(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			out = append(out, rr.Hdr.Name+" "+rr.A.String())
		case *dns.AAAA:
			out = append(out, rr.Hdr.Name+" "+rr.AAAA.String())
		}
	}
	return out
}
