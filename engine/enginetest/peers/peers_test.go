package peers

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
	"github.com/hearth-media/hearth/engine/enginetest/tracker"
)

// swarm is two namespaces joined by a veth pair, with a tracker inside A.
type swarm struct {
	a, b         *netns.NS
	addrA, addrB netip.Addr
	announce     string
	tracker      *tracker.Tracker
}

func newSwarm(t *testing.T) *swarm {
	t.Helper()
	s := &swarm{a: netns.New(t, "seed"), b: netns.New(t, "leech")}
	s.addrA, s.addrB = netns.Link(t, s.a, s.b, "")
	l, err := s.a.Listen("tcp4", netip.AddrPortFrom(s.addrA, 0).String())
	if err != nil {
		t.Fatalf("tracker listener in %s: %v", s.a, err)
	}
	s.tracker = tracker.New()
	s.tracker.Interval = 2 * time.Second
	done := make(chan error, 1)
	go func() { done <- s.tracker.Serve(l) }()
	t.Cleanup(func() {
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("tracker.Serve: %v", err)
		}
	})
	s.announce = fmt.Sprintf("http://%s/announce", l.Addr())
	return s
}

// files is a ~8 MiB multi-file layout whose sizes cross piece boundaries.
var files = []File{
	{"a.bin", 3<<20 + 12345},
	{"sub/b.bin", 4 << 20},
	{"sub/deeper/c.bin", 1<<20 - 7},
	{"empty-ish.txt", 1},
}

// seeder and leecher are what the test needs of a driver.
type client interface {
	Add(ctx context.Context, torrentPath, downloadDir string) error
	WaitComplete(ctx context.Context, infohash string) error
	PeakRSS() int64
}

func TestInterop(t *testing.T) {
	Require(t, "transmission-daemon", "aria2c")
	tests := []struct {
		name        string
		seed, leech func(t *testing.T, ns *netns.NS) client
	}{
		{"transmission seeds aria2",
			func(t *testing.T, ns *netns.NS) client { return StartTransmission(t, ns, TransmissionOptions{}) },
			func(t *testing.T, ns *netns.NS) client { return StartAria2(t, ns, Aria2Options{}) }},
		{"aria2 seeds transmission",
			func(t *testing.T, ns *netns.NS) client { return StartAria2(t, ns, Aria2Options{}) },
			func(t *testing.T, ns *netns.NS) client { return StartTransmission(t, ns, TransmissionOptions{}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSwarm(t)
			dir := t.TempDir()
			tor := MakeTorrent(t, dir, "interop", s.announce, 0, files)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			t0 := time.Now()
			seeder := tt.seed(t, s.a)
			if err := seeder.Add(ctx, tor.Path, tor.DataDir); err != nil {
				t.Fatal(err)
			}
			if err := seeder.WaitComplete(ctx, tor.InfoHash); err != nil {
				t.Fatalf("seeder check: %v", err)
			}

			leecher := tt.leech(t, s.b)
			out := filepath.Join(dir, "out")
			if err := leecher.Add(ctx, tor.Path, out); err != nil {
				t.Fatal(err)
			}
			if err := leecher.WaitComplete(ctx, tor.InfoHash); err != nil {
				t.Fatalf("leech: %v", err)
			}
			// Most of the time is the seeder's rechoke round: transmission
			// and aria2 both unchoke a new peer only every 10 s.
			t.Logf("%d bytes in %v (leecher peak RSS %d KiB)", tor.Size, time.Since(t0).Round(time.Millisecond), leecher.PeakRSS()>>10)
			if err := SameTree(filepath.Join(tor.DataDir, tor.Name), filepath.Join(out, tor.Name)); err != nil {
				t.Errorf("downloaded data: %v", err)
			}
			if rss := leecher.PeakRSS(); rss < 1<<20 {
				t.Errorf("leecher PeakRSS() = %d, want at least 1 MiB", rss)
			}
		})
	}
}

func TestSameTree(t *testing.T) {
	dir := t.TempDir()
	a := MakeTorrent(t, filepath.Join(dir, "a"), "x", "", 0, []File{{"f", 1000}, {"d/g", 70000}})
	b := MakeTorrent(t, filepath.Join(dir, "b"), "x", "", 0, []File{{"f", 1000}, {"d/g", 70000}})
	if err := SameTree(filepath.Join(a.DataDir, "x"), filepath.Join(b.DataDir, "x")); err != nil {
		t.Errorf("SameTree(same seed) = %v, want nil", err)
	}
	if a.InfoHash != b.InfoHash {
		t.Errorf("infohashes %s, %s differ for the same content", a.InfoHash, b.InfoHash)
	}
	c := MakeTorrent(t, filepath.Join(dir, "c"), "x", "", 0, []File{{"f", 1000}, {"d/g", 70001}})
	if err := SameTree(filepath.Join(a.DataDir, "x"), filepath.Join(c.DataDir, "x")); err == nil {
		t.Errorf("SameTree(different sizes) = nil, want an error")
	}
	d := MakeTorrent(t, filepath.Join(dir, "d"), "y", "", 0, []File{{"f", 1000}, {"d/g", 70000}})
	if err := SameTree(filepath.Join(a.DataDir, "x"), filepath.Join(d.DataDir, "y")); err == nil {
		t.Errorf("SameTree(different content) = nil, want an error")
	}
}

func TestVmHWM(t *testing.T) {
	got, err := VmHWM(os.Getpid())
	if err != nil || got < 1<<20 {
		t.Errorf("VmHWM(self) = %d, %v, want at least 1 MiB", got, err)
	}
	if _, err := VmHWM(-1); err == nil {
		t.Errorf("VmHWM(-1) = nil error, want one")
	}
}
