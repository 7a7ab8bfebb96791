package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/share"
)

// apiTry does one API call on d and decodes the answer into out, and
// returns an error instead of failing the test: the power-cut workers call
// it from goroutines, and a call cut by kill -9 is not a failure.
func (d *daemonProc) apiTry(ctx context.Context, method, path string, body, out any) error {
	var rb bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&rb).Encode(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, d.api+path, &rb)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return &apiStatus{code: resp.StatusCode, msg: fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, e.Error)}
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// apiStatus is an API answer other than 2xx: the daemon was up and said no.
type apiStatus struct {
	code int
	msg  string
}

func (e *apiStatus) Error() string { return e.msg }

// ledger is what the daemon acknowledged (the API answered 2xx) before a
// kill, and what was in flight when it came.
type ledger struct {
	mu sync.Mutex
	// Settings: uploadKBps values only grow, so after a restart the value
	// is the last acknowledged one or the one in flight.
	upAcked, upInFlight int
	// Channel "Mine": the last version the publish call returned.
	versionAcked int64
	shares       map[string]bool // acknowledged share ids
	devices      map[string]bool // acknowledged paired device ids
	refused      []string        // 4xx/5xx answers while the daemon was up: bugs
	ops          int             // acknowledged operations, all kinds
}

func (l *ledger) refuse(err error) {
	var s *apiStatus
	if errors.As(err, &s) {
		l.mu.Lock()
		l.refused = append(l.refused, s.msg)
		l.mu.Unlock()
	}
}

// powerCutFigures are one store's results.
type powerCutFigures struct {
	cycles      int
	ops         int   // operations acknowledged before kills
	verified    int64 // bytes compared with the originals at the end
	rehashed    int64 // pieces of complete torrents hashed again after restarts
	inFlightHit int   // kills that left an in-flight change applied
}

// TestReliabilityPowerCut pulls the plug (kill -9 at a random moment,
// seeded) on a real "hearth serve" again and again while it downloads from
// a second daemon, seeds, publishes channel versions, saves settings,
// pairs devices and creates shares, all at once. After each restart
// everything the API acknowledged before the kill is there, no verified
// piece is lost or hashed again, and at the end the data match byte for
// byte. Both stores: badger, and bbolt as 32-bit devices use.
// 5 cycles per store; 20 with HEARTH_RELIABILITY=full.
func TestReliabilityPowerCut(t *testing.T) {
	rounds := enginetest.Rounds(5, 20)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HEARTH_RELIABILITY_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("HEARTH_RELIABILITY_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (HEARTH_RELIABILITY_SEED=%d repeats the kill times)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 8))

	nodes := startPeerDHT(t, 3)
	env := []string{
		"HEARTH_TORRENT_DHT=true",
		"HEARTH_TORRENT_DHT_BOOTSTRAP=" + strings.Join(nodes, ","),
		"HEARTH_CHANNELS_POLL_INTERVAL=1s",
		"HEARTH_CHANNELS_LAN=false",
	}

	// The seeder: the content the daemon under test downloads, and a
	// channel it subscribes to.
	seedDir := t.TempDir()
	seeder := startDaemonProc(t, seedDir, env...)
	src := filepath.Join(seedDir, "src")
	dlFile := filepath.Join(seedDir, "download.torrent")
	dlSize := rounds*1_000_000 + 2_000_000 // about 1 s of download per cycle at 1000 kB/s
	dlHash, dlFiles := makeContent(t, src, "powercut-download", dlFile, dlSize/2, dlSize/2+777)
	seeder.mustCLI("add", "--dir", src, dlFile)
	seeder.waitState(dlHash, engine.StateSeeding)
	seedPeer := fmt.Sprintf("127.0.0.1:%d", seeder.stats().PeerPort)
	news := t.TempDir()
	writeRandom(t, filepath.Join(news, "letter.txt"), 100_000)
	seeder.mustCLI("channel", "create", "Seeder news")
	seeder.mustCLI("channel", "add", "Seeder news", filepath.Join(news, "letter.txt"))
	seeder.mustCLI("channel", "publish", "Seeder news")
	newsLink := strings.TrimSpace(seeder.mustCLI("channel", "link", "Seeder news"))

	figures := map[string]powerCutFigures{}
	for _, backend := range []string{"badger", "bbolt"} {
		t.Run(backend, func(t *testing.T) {
			f := powerCut(t, rng, rounds, append(env, "HEARTH_STORE_BACKEND="+backend), backend,
				src, dlFile, dlHash, dlFiles, seedPeer, newsLink)
			figures[backend] = f
		})
	}
	if t.Failed() {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, `## Power cuts (kill -9)

TestReliabilityPowerCut (cmd/hearth) runs a real "hearth serve" and kills
it with SIGKILL at a random moment (seeded PRNG; the seed is in the test
log) while, all at once, it downloads a torrent from a second daemon on
loopback at 1000 kB/s, seeds another, publishes versions of its own
channel, is subscribed to the other daemon's channel (private DHT on
loopback), saves settings (PATCH /api/v1/settings), pairs devices
(request, owner's approval, token) and creates shares. After each restart
it checks that every torrent, channel version, subscription, share,
paired device and setting the API acknowledged before the kill is there
(changes in flight may be there or not; nothing may be half there), that
no verified piece was lost, that complete torrents were not hashed again
(engine.Torrent.BytesHashed), and at the end that the downloaded and
seeded data match the originals byte for byte.

| Store | Cycles survived | Operations acknowledged | Kills that caught a change in flight (applied) | Bytes verified | Pieces re-hashed |
|---|---|---|---|---|---|
`)
	for _, backend := range []string{"badger", "bbolt"} {
		f := figures[backend]
		fmt.Fprintf(&b, "| %s | %d of %d | %d | %d | %d | %d |\n", backend, f.cycles, rounds, f.ops, f.inFlightHit, f.verified, f.rehashed)
	}
	fmt.Fprintf(&b, "\nSeed %d. Lost: nothing.\n", seed)
	enginetest.Report(t, "10-powercut", b.String())
}

func powerCut(t *testing.T, rng *rand.Rand, rounds int, env []string, backend, src, dlFile, dlHash string, dlFiles []string, seedPeer, newsLink string) powerCutFigures {
	var fig powerCutFigures
	dataDir := t.TempDir()
	d := startDaemonProc(t, dataDir, env...)
	if got := d.stats().Store; got != backend {
		t.Fatalf("daemon runs store %q, want %s", got, backend)
	}

	// A torrent it seeds: the data are there, it verifies them once.
	seedSrc := filepath.Join(dataDir, "seedsrc")
	seedFile := filepath.Join(dataDir, "seed.torrent")
	seedHash, seedFiles := makeContent(t, seedSrc, "powercut-seed", seedFile, 3<<20, 1<<20+333)
	d.mustCLI("add", "--dir", seedSrc, seedFile)
	d.waitState(seedHash, engine.StateSeeding)
	first := d.torrent(seedHash)
	seedID := first.ID
	// The counter the checks below rely on counts: the first check hashed it all.
	if first.BytesHashed != first.Size {
		t.Fatalf("seeded torrent hashed %d bytes when added, want its size %d", first.BytesHashed, first.Size)
	}

	d.mustCLI("set", "--global", "--down-limit", "1000")
	d.mustCLI("add", "--peer", seedPeer, dlFile)
	if out := d.mustCLI("subscribe", newsLink); !strings.Contains(out, "subscribed to Seeder news") {
		t.Fatalf("subscribe printed %q", out)
	}
	mineSrc := filepath.Join(dataDir, "mine-src")
	if err := os.MkdirAll(mineSrc, 0o755); err != nil {
		t.Fatal(err)
	}
	seedSums := sums(t, filepath.Join(seedSrc, "powercut-seed"), seedFiles)
	d.mustCLI("channel", "create", "Mine")

	l := &ledger{shares: map[string]bool{}, devices: map[string]bool{}}
	var s engine.Settings
	d.apiJSON("GET", "/api/v1/settings", nil, &s)
	l.upAcked, l.upInFlight = s.UploadKBps, s.UploadKBps
	// Torrents seen seeding before a kill: hashing any of them after the
	// restart would mean verified pieces are hashed again.
	complete := map[string]bool{seedHash: true}
	file := 0
	subVersion := int64(0) // the subscription's version seen after a restart

	for round := range rounds {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		worker := func(f func(ctx context.Context) error, pause time.Duration) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := f(ctx); err != nil {
						if ctx.Err() == nil {
							l.refuse(err)
						}
						return
					}
					select {
					case <-ctx.Done():
					case <-time.After(pause):
					}
				}
			}()
		}
		// Settings.
		worker(func(ctx context.Context) error {
			l.mu.Lock()
			l.upInFlight = l.upAcked + 1
			v := l.upInFlight
			l.mu.Unlock()
			if err := d.apiTry(ctx, "PATCH", "/api/v1/settings", map[string]any{"uploadKBps": v}, nil); err != nil {
				return err
			}
			l.mu.Lock()
			l.upAcked = v
			l.ops++
			l.mu.Unlock()
			return nil
		}, 20*time.Millisecond)
		// A new version of the channel: one more file, publish.
		worker(func(ctx context.Context) error {
			file++
			p := filepath.Join(mineSrc, fmt.Sprintf("photo%03d.jpg", file))
			b := make([]byte, 50_000+file*7919%200_000)
			crand.Read(b)
			if err := os.WriteFile(p, b, 0o644); err != nil {
				return err
			}
			if err := d.apiTry(ctx, "POST", "/api/v1/channels/Mine/items", map[string]any{"paths": []string{p}}, nil); err != nil {
				return err
			}
			var ch channel.Channel
			if err := d.apiTry(ctx, "POST", "/api/v1/channels/Mine/publish", nil, &ch); err != nil {
				return err
			}
			l.mu.Lock()
			l.versionAcked = ch.Version
			l.ops++
			l.mu.Unlock()
			return nil
		}, 100*time.Millisecond)
		// Shares of the seeded torrent.
		worker(func(ctx context.Context) error {
			var sh share.Share
			if err := d.apiTry(ctx, "POST", "/api/v1/shares", map[string]any{"torrentId": seedID, "label": "powercut"}, &sh); err != nil {
				return err
			}
			l.mu.Lock()
			l.shares[sh.ID] = true
			l.ops++
			l.mu.Unlock()
			return nil
		}, 150*time.Millisecond)
		// Pairing: at most two devices per cycle (a device holds 100).
		pairs := 0
		worker(func(ctx context.Context) error {
			if pairs == 2 {
				<-ctx.Done()
				return nil
			}
			pairs++
			var tk struct{ ID, Secret string }
			if err := d.apiTry(ctx, "POST", "/api/v1/pair", map[string]any{"name": fmt.Sprintf("phone %d.%d", round, pairs)}, &tk); err != nil {
				return err
			}
			if err := d.apiTry(ctx, "POST", "/api/v1/pair/"+tk.ID+"/approve", nil, nil); err != nil {
				return err
			}
			var p struct {
				Device struct{ ID string }
				Token  string
			}
			if err := d.apiTry(ctx, "POST", "/api/v1/pair/"+tk.ID, map[string]any{"secret": tk.Secret}, &p); err != nil {
				return err
			}
			l.mu.Lock()
			l.devices[p.Device.ID] = true
			l.ops++
			l.mu.Unlock()
			return nil
		}, 200*time.Millisecond)

		time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
		before := d.torrent(dlHash)
		if before.State == engine.StateSeeding {
			complete[dlHash] = true
		}
		d.kill9()
		cancel()
		wg.Wait()

		d = startDaemonProc(t, dataDir, env...)
		l.mu.Lock()
		if len(l.refused) > 0 {
			t.Errorf("round %d: the daemon refused while up: %s", round, strings.Join(l.refused, "; "))
			l.refused = nil
		}
		l.mu.Unlock()

		// Everything acknowledged is there.
		var set engine.Settings
		d.apiJSON("GET", "/api/v1/settings", nil, &set)
		if set.UploadKBps != l.upAcked && set.UploadKBps != l.upInFlight {
			t.Errorf("round %d: upload limit after restart = %d, want %d (acknowledged) or %d (in flight)", round, set.UploadKBps, l.upAcked, l.upInFlight)
		}
		if set.UploadKBps != l.upAcked {
			fig.inFlightHit++
			l.upAcked = set.UploadKBps
		}
		if set.DownloadKBps != 1000 {
			t.Errorf("round %d: download limit after restart = %d, want 1000", round, set.DownloadKBps)
		}
		var chs struct{ Channels []channel.Channel }
		d.apiJSON("GET", "/api/v1/channels", nil, &chs)
		var mine *channel.Channel
		for i := range chs.Channels {
			if chs.Channels[i].Name == "Mine" {
				mine = &chs.Channels[i]
			}
		}
		switch {
		case mine == nil:
			t.Fatalf("round %d: channel Mine gone after restart (channels %+v)", round, chs.Channels)
		case mine.Version != l.versionAcked && mine.Version != l.versionAcked+1:
			t.Errorf("round %d: channel Mine at version %d after restart, want %d (acknowledged) or %d (in flight)", round, mine.Version, l.versionAcked, l.versionAcked+1)
		case mine.Version > l.versionAcked:
			fig.inFlightHit++
			l.versionAcked = mine.Version
		}
		if mine.Version > 0 && mine.InfoHash == "" {
			t.Errorf("round %d: channel Mine version %d has no torrent", round, mine.Version)
		}
		var subs struct{ Subscriptions []channel.Subscription }
		d.apiJSON("GET", "/api/v1/subscriptions", nil, &subs)
		if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Name != "Seeder news" {
			t.Fatalf("round %d: subscriptions after restart = %+v, want Seeder news", round, subs.Subscriptions)
		}
		if v := subs.Subscriptions[0].Version; v < subVersion {
			t.Errorf("round %d: subscription at version %d after restart, was at %d", round, v, subVersion)
		} else {
			subVersion = v
		}
		var shares struct{ Shares []share.Share }
		d.apiJSON("GET", "/api/v1/shares", nil, &shares)
		have := map[string]bool{}
		for _, sh := range shares.Shares {
			have[sh.ID] = true
		}
		for id := range l.shares {
			if !have[id] {
				t.Errorf("round %d: acknowledged share %s gone after restart", round, id)
			}
		}
		var devs struct{ Devices []struct{ ID string } }
		d.apiJSON("GET", "/api/v1/devices", nil, &devs)
		have = map[string]bool{}
		for _, dv := range devs.Devices {
			have[dv.ID] = true
		}
		for id := range l.devices {
			if !have[id] {
				t.Errorf("round %d: acknowledged paired device %s gone after restart", round, id)
			}
		}
		torrents := map[string]engine.Torrent{}
		for _, x := range d.mustLs() {
			torrents[x.InfoHash] = x
		}
		for _, ih := range []string{seedHash, dlHash} {
			if _, ok := torrents[ih]; !ok {
				t.Fatalf("round %d: torrent %s gone after restart", round, ih)
			}
		}
		after := torrents[dlHash]
		if after.Done < before.Done {
			t.Errorf("round %d: %d verified bytes before kill -9, %d after restart: verified pieces were lost", round, before.Done, after.Done)
		}

		// Complete torrents are not hashed again: once they leave the
		// checking state their counters stay at 0.
		for ih := range complete {
			if _, ok := torrents[ih]; !ok {
				continue // an earlier channel version, replaced
			}
			x := waitChecked(t, d, ih)
			if x.State != engine.StateSeeding {
				t.Errorf("round %d: torrent %s (%s) complete before the kill is %s after restart (error %q)", round, ih, x.Name, x.State, x.Error)
			}
			if x.BytesHashed > 0 {
				pieces := (x.BytesHashed + x.PieceSize - 1) / x.PieceSize
				fig.rehashed += pieces
				t.Errorf("round %d: torrent %s (%s) was complete before the kill and hashed %d bytes (%d pieces) after restart", round, ih, x.Name, x.BytesHashed, pieces)
			}
		}
		x := waitChecked(t, d, dlHash)
		if max := x.WantedSize - before.Done; x.BytesHashed > max {
			t.Errorf("round %d: download hashed %d bytes after restart, but only %d were not verified before the kill", round, x.BytesHashed, max)
		}
		t.Logf("round %d: killed at %d/%d bytes; restart found %d; %d operations acknowledged so far; channel v%d, %d shares, %d devices, upload limit %d",
			round, before.Done, x.WantedSize, after.Done, l.ops, l.versionAcked, len(l.shares), len(l.devices), l.upAcked)
		if t.Failed() {
			return fig
		}
		fig.cycles++
		for ih := range torrents {
			if x := d.torrent(ih); x.State == engine.StateSeeding {
				complete[ih] = true
			}
		}
		d.apiJSON("POST", "/api/v1/torrents/"+dlHash+"/peers", map[string]any{"peers": []string{seedPeer}}, nil)
	}
	fig.ops = l.ops

	// The data: the download completes and matches; the seeded files and
	// the channel's files are unchanged.
	d.mustCLI("set", "--global", "--down-limit", "0")
	d.waitState(dlHash, engine.StateSeeding)
	dl := d.torrent(dlHash).Dir
	fig.verified += sameFiles(t, filepath.Join(src, "powercut-download"), filepath.Join(dl, "powercut-download"), dlFiles)
	for f, sum := range sums(t, filepath.Join(seedSrc, "powercut-seed"), seedFiles) {
		if sum != seedSums[f] {
			t.Errorf("seeded file %s changed during the power cuts", f)
		}
		fig.verified += sum.size
	}
	d.mustCLI("verify", seedHash)
	d.waitState(seedHash, engine.StateSeeding)
	if x := d.torrent(seedHash); x.Done != x.WantedSize {
		t.Errorf("seeded torrent after verify: %d of %d bytes", x.Done, x.WantedSize)
	}
	d.stop()
	return fig
}

// waitChecked waits until a torrent is out of the checking state and returns it.
func waitChecked(t *testing.T, d *daemonProc, ih string) engine.Torrent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		x := d.torrent(ih)
		if x.State != engine.StateChecking || time.Now().After(deadline) {
			return x
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type fileSum struct {
	sum  [sha256.Size]byte
	size int64
}

// sums returns the SHA-256 and size of each file under dir.
func sums(t *testing.T, dir string, files []string) map[string]fileSum {
	t.Helper()
	m := map[string]fileSum{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		m[f] = fileSum{sha256.Sum256(b), int64(len(b))}
	}
	return m
}

// sameFiles compares files under two folders byte for byte and returns
// the bytes compared.
func sameFiles(t *testing.T, wantDir, gotDir string, files []string) int64 {
	t.Helper()
	var n int64
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(wantDir, f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(gotDir, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the original", filepath.Join(gotDir, f))
		}
		n += int64(len(got))
	}
	return n
}
