package netns

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestPair(t *testing.T) {
	tests := []struct {
		subnet  string
		a, b    string
		bits    int
		wantErr bool
	}{
		{"10.213.1.0/24", "10.213.1.1", "10.213.1.2", 24, false},
		{"10.213.7.9/24", "10.213.7.1", "10.213.7.2", 24, false},
		{"192.168.250.0/30", "192.168.250.1", "192.168.250.2", 30, false},
		{"10.213.1.0/31", "", "", 0, true},
		{"8.8.8.0/24", "", "", 0, true},
		{"fd00::/64", "", "", 0, true},
		{"nonsense", "", "", 0, true},
	}
	for _, tt := range tests {
		a, b, bits, err := pair(tt.subnet)
		if tt.wantErr {
			if err == nil {
				t.Errorf("pair(%q) = %v, %v, nil, want an error", tt.subnet, a, b)
			}
			continue
		}
		if err != nil || a.String() != tt.a || b.String() != tt.b || bits != tt.bits {
			t.Errorf("pair(%q) = %v, %v, %d, %v, want %s, %s, %d", tt.subnet, a, b, bits, err, tt.a, tt.b, tt.bits)
		}
	}
}

// TestLinkListenDial proves the three ways into a namespace: a Go listener
// made inside A, a Go dial from inside B across the veth, and a program
// started inside B with Command.
func TestLinkListenDial(t *testing.T) {
	a, b := New(t, "a"), New(t, "b")
	addrA, addrB := Link(t, a, b, "")
	if got := a.Addrs(); len(got) != 1 || got[0] != addrA {
		t.Errorf("a.Addrs() = %v, want [%v]", got, addrA)
	}

	l, err := a.Listen("tcp4", netip.AddrPortFrom(addrA, 0).String())
	if err != nil {
		t.Fatalf("a.Listen: %v", err)
	}
	defer l.Close()
	from := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			from <- "accept: " + err.Error()
			return
		}
		defer c.Close()
		from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
		c.Write([]byte("hello\n"))
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := b.DialContext(ctx, "tcp4", l.Addr().String())
	if err != nil {
		t.Fatalf("b.DialContext(%s): %v", l.Addr(), err)
	}
	defer c.Close()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "hello\n" {
		t.Errorf("read from A = %q, %v, want hello", line, err)
	}
	if got := <-from; got != addrB.String() {
		t.Errorf("A saw the connection from %s, want %s", got, addrB)
	}

	// Neither address exists on the host (checked locally; never dial
	// them from the host: with a default route that would leave the box).
	host, err := exec.Command("ip", "-o", "addr", "show").Output()
	if err != nil {
		t.Fatalf("ip addr on the host: %v", err)
	}
	if strings.Contains(string(host), addrA.String()+"/") || strings.Contains(string(host), addrB.String()+"/") {
		t.Errorf("host has %s or %s: %s", addrA, addrB, host)
	}

	out, err := b.Command(ctx, "ip", "-o", "-4", "addr", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("ip addr inside b: %v: %s", err, out)
	}
	if !strings.Contains(string(out), addrB.String()+"/24") || strings.Contains(string(out), addrA.String()+"/") {
		t.Errorf("ip addr inside b = %s, want %s and not %s", out, addrB, addrA)
	}
}

// TestCleanupKills checks that a namespace's cleanup kills what runs
// inside it and deletes it.
func TestCleanupKills(t *testing.T) {
	var ns *NS
	var cmd *exec.Cmd
	t.Run("inner", func(t *testing.T) {
		ns = New(t, "cleanup")
		cmd = ns.Command(context.Background(), "sleep", "60")
		if err := cmd.Start(); err != nil {
			t.Fatalf("start sleep: %v", err)
		}
	})
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("sleep inside %s still runs after cleanup", ns.Name)
	}
	out, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(out), ns.Name) {
		t.Errorf("ip netns list = %s, still has %s", out, ns.Name)
	}
}
