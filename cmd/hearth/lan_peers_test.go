package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// TestTorrentsLAN is the "torrents in common" test of the mDNS issue:
// three real daemons on one virtual Ethernet segment, DHT off, no
// tracker. A seeds a torrent; B adds the same .torrent with no peer, and
// completes from A, which it can only have found by asking its LAN
// neighbours (web/lan peers.go). C, which does not have the torrent, is
// asked too and recognises nothing.
func TestTorrentsLAN(t *testing.T) {
	seg := newLANSegment(t)
	aNS, addrA := seg.join("tA")
	bNS, addrB := seg.join("tB")
	cNS, addrC := seg.join("tC")
	a, b, c := startLANNode(t, aNS), startLANNode(t, bNS), startLANNode(t, cNS)
	ctx := context.Background()

	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	torrentFile := filepath.Join(dir, "film.torrent")
	ih, files := makeContent(t, content, "Film", torrentFile, 16<<20, 3<<20, 12345)
	a.mustCLI(ctx, "add", "--dir", content, torrentFile)
	a.lanWaitTorrent(ih, 30*time.Second, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })

	// Every device sees the other two before B adds the torrent: what is
	// measured below is the add, not the discovery.
	for deadline := time.Now().Add(30 * time.Second); ; {
		devs := discoverIn(t, bNS, "lan0", 1500*time.Millisecond)
		seen := map[string]bool{}
		for _, d := range devs {
			for _, x := range d.Addrs {
				seen[x.String()] = true
			}
		}
		if seen[addrA.String()] && seen[addrB.String()] && seen[addrC.String()] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("hearth discover in B = %+v, want A, B and C", devs)
		}
	}

	start := time.Now()
	b.mustCLI(ctx, "add", torrentFile) // no --peer: the LAN path must find A
	b.lanWaitTorrent(ih, 30*time.Second, "a first piece", func(x engine.Torrent) bool { return x.PiecesDone > 0 })
	firstAt := time.Since(start)
	got := b.lanWaitTorrent(ih, 60*time.Second, "complete", func(x engine.Torrent) bool { return x.HasMetadata && x.Done == x.WantedSize })
	// The add is noticed at B's next read of its torrent list (every 2 s
	// while it has neighbours): 0.7-2.0 s measured with the add at a random
	// moment, of which the question and the first piece take about 0.25 s.
	t.Logf("B: first piece %s after \"hearth add\" returned, complete after %s (%d MiB)",
		firstAt.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), got.WantedSize>>20)
	for _, f := range files {
		sameLANFile(t, filepath.Join(content, "Film", f), filepath.Join(got.Dir, "Film", f))
	}

	// B added A (its LAN address and peer port) through the LAN path.
	peerA := fmt.Sprintf("%s:%d", addrA, a.peerPort)
	bLog := readLog(t, b)
	if !regexp.MustCompile(`msg="torrent peer from a LAN neighbour".*infoHash=` + ih + ` peer=` + regexp.QuoteMeta(peerA)).MatchString(bLog) {
		t.Errorf("B's log has no \"torrent peer from a LAN neighbour\" line for %s at %s", ih, peerA)
	}
	if !strings.Contains(bLog, "dht=false") {
		t.Error("B's log does not show the DHT off (dht=false)")
	}
	// A recognised B's question; C was asked and recognised nothing.
	answered := regexp.MustCompile(`msg="LAN torrent question answered" .*from=(\S+) asked=(\d+) held=(\d+)`)
	held := func(d *nsDaemon) (questions, heldTotal int) {
		for _, m := range answered.FindAllStringSubmatch(readLog(t, d), -1) {
			if m[1] != addrB.String() {
				continue
			}
			questions++
			n, _ := strconv.Atoi(m[3])
			heldTotal += n
		}
		return questions, heldTotal
	}
	if q, h := held(a); q == 0 || h == 0 {
		t.Errorf("A answered %d questions from B holding %d torrents, want at least one holding the torrent", q, h)
	}
	if q, h := held(c); q == 0 || h != 0 {
		t.Errorf("C answered %d questions from B holding %d torrents, want at least one, holding none", q, h)
	}
	if cLog := readLog(t, c); strings.Contains(strings.ToLower(cLog), ih) {
		t.Error("C's log names the infohash: it learnt which torrent B asked about")
	}
	// Nobody asked A or C for anything: they have nothing incomplete.
	for _, d := range []*nsDaemon{a, c} {
		if strings.Contains(readLog(t, d), `msg="LAN neighbour asked about torrents"`) {
			t.Errorf("%s asked its neighbours about torrents, with nothing incomplete", d.ns)
		}
	}
}

func readLog(t *testing.T, d *nsDaemon) string {
	t.Helper()
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lanWaitTorrent polls GET /api/v1/torrents/{ih} inside the daemon's
// namespace until ok.
func (d *nsDaemon) lanWaitTorrent(ih string, timeout time.Duration, what string, ok func(engine.Torrent) bool) engine.Torrent {
	d.t.Helper()
	hc := nsClient(d.ns)
	var x engine.Torrent
	var err error
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, e := hc.Get(d.api + "/api/v1/torrents/" + ih)
		if err = e; e != nil {
			continue
		}
		x = engine.Torrent{}
		err = json.NewDecoder(resp.Body).Decode(&x)
		resp.Body.Close()
		if err == nil && ok(x) {
			return x
		}
	}
	d.t.Fatalf("%s: torrent %s not %s within %s: state %s, %d/%d bytes, peers %d, error %q (%v)",
		d.ns, ih, what, timeout, x.State, x.Done, x.WantedSize, x.Peers, x.Error, err)
	return x
}
