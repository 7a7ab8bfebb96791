package engine_test

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anacrolix/torrent/metainfo"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
)

// Tests of what remote control (the Transmission RPC) needs of the engine:
// labels, alternative speed limits and their schedule, moving data,
// renaming files, the incomplete folder, reannounce, peers and pieces,
// removed ids and totals.

// copyData copies tt's data to a new folder and returns tt there.
func copyData(t *testing.T, tt *enginetest.Torrent) *enginetest.Torrent {
	t.Helper()
	c := *tt
	c.Dir = t.TempDir()
	if err := os.CopyFS(filepath.Join(c.Dir, tt.Name), os.DirFS(filepath.Join(tt.Dir, tt.Name))); err != nil {
		t.Fatal(err)
	}
	return &c
}

// seedFrom adds tt seeding from its original folder on n and waits until
// it has verified its data.
func seedFrom(t *testing.T, n *enginetest.Node, tt *enginetest.Torrent) engine.Torrent {
	t.Helper()
	got, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	return enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
}

func isInput(err error) bool {
	var ie *engine.InputError
	return errors.As(err, &ie)
}

func TestLabels(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	tt := enginetest.MakeTorrent(t, t.TempDir(), "labelled", 0, []enginetest.File{{Path: "a", Size: 1000}})
	got, _, err := n.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Engine.SetLabels(got.ID, []string{" tv ", "linux", "tv", ""}); err != nil {
		t.Fatalf("SetLabels: %v", err)
	}
	x, _ := n.Engine.Get(ref(got.ID))
	if want := []string{"tv", "linux"}; !reflect.DeepEqual(x.Labels, want) {
		t.Errorf("labels = %q, want %q", x.Labels, want)
	}
	if x.EditedAt.IsZero() {
		t.Errorf("EditedAt not set after a change")
	}
	for _, bad := range [][]string{{"a,b"}, {"bell\x07"}, {string(make([]byte, 200))}, make([]string, 0)} {
		if len(bad) == 0 {
			for i := range engine.MaxLabels + 1 {
				bad = append(bad, string(rune('A'+i%26))+string(rune('a'+i/26)))
			}
		}
		if err := n.Engine.SetLabels(got.ID, bad); !isInput(err) {
			t.Errorf("SetLabels(%.30q) = %v, want an InputError", bad, err)
		}
	}
	if err := n.Engine.SetLabels(999, []string{"x"}); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("SetLabels(unknown id) = %v, want ErrNotFound", err)
	}
	// Labels persist.
	dir := n.Dir
	n.Close()
	again := enginetest.StartNode(t, enginetest.NodeOptions{Dir: dir})
	x, _ = again.Engine.Get(ref(got.ID))
	if want := []string{"tv", "linux"}; !reflect.DeepEqual(x.Labels, want) {
		t.Errorf("labels after restart = %q, want %q", x.Labels, want)
	}
	if err := again.Engine.SetLabels(got.ID, nil); err != nil {
		t.Fatal(err)
	}
	if x, _ := again.Engine.Get(ref(got.ID)); len(x.Labels) != 0 {
		t.Errorf("labels after clearing = %q, want none", x.Labels)
	}
}

// fakeClock is a settable clock for the alternative-limits schedule.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// startWithClock starts an engine like enginetest.StartNode, with a clock.
func startWithClock(t *testing.T, dir string, now func() time.Time, adjust func(*config.Config)) (*engine.Engine, store.Store) {
	t.Helper()
	c := enginetest.Config(t, dir)
	if adjust != nil {
		adjust(c)
	}
	st, err := store.Open(store.Options{Dir: filepath.Join(dir, "state"), Logger: enginetest.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(engine.Options{Config: c, Store: st, Logger: enginetest.Logger(t), ListenHost: "127.0.0.1", Now: now})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.Close()
		st.Close()
	})
	return e, st
}

// waitAlt waits (the engine checks the schedule once a second) until the
// alternative limits are on or off.
func waitAlt(t *testing.T, e *engine.Engine, on bool, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.Settings().AltEnabled != on {
		if time.Now().After(deadline) {
			t.Fatalf("%s: alternative limits on = %v, want %v", when, !on, on)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAltSpeedSchedule(t *testing.T) {
	// Monday 2024-01-01, local time.
	day := func(d, h, m int) time.Time { return time.Date(2024, 1, d, h, m, 0, 0, time.Local) }
	clock := &fakeClock{t: day(1, 8, 59)}
	dir := t.TempDir()
	e, st := startWithClock(t, dir, clock.Now, nil)
	s, err := e.SetSettings(engine.SettingsPatch{
		AltDownloadKBps: ptr(30), AltUploadKBps: ptr(20),
		AltBegin: ptr("09:00"), AltEnd: ptr("17:00"), AltDays: ptr("weekdays"), AltScheduled: ptr(true),
	})
	if err != nil {
		t.Fatalf("SetSettings: %v", err)
	}
	if s.AltEnabled {
		t.Fatalf("at 08:59 on a Monday the alternative limits are on, want off")
	}
	clock.Set(day(1, 9, 0))
	waitAlt(t, e, true, "09:00 Monday")
	// A user may switch them off inside the window; the schedule does not
	// switch them back until its next begin.
	if _, err := e.SetSettings(engine.SettingsPatch{AltEnabled: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	clock.Set(day(1, 12, 0))
	time.Sleep(1500 * time.Millisecond) // at least one check of the schedule
	if e.Settings().AltEnabled {
		t.Fatalf("at 12:00 after the user switched them off, the schedule switched them on again")
	}
	clock.Set(day(2, 9, 30)) // Tuesday: the next begin has passed
	waitAlt(t, e, true, "09:30 Tuesday")
	clock.Set(day(6, 10, 0)) // Saturday: not a weekday
	waitAlt(t, e, false, "Saturday")
	saved, err := engine.RuntimeSettings(st)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"limits.alt_enabled": "false", "limits.alt_scheduled": "true", "limits.alt_begin": "09:00",
		"limits.alt_end": "17:00", "limits.alt_days": "weekdays", "limits.alt_download_kbps": "30", "limits.alt_upload_kbps": "20",
	} {
		if saved[k] != want {
			t.Errorf("saved %s = %q, want %q", k, saved[k], want)
		}
	}
	// Changing the schedule applies it at once: Saturday is in "all".
	if s, err := e.SetSettings(engine.SettingsPatch{AltDays: ptr("all")}); err != nil || !s.AltEnabled {
		t.Errorf("after alt days = all on a Saturday at 10:00: on = %v (err %v), want on", s.AltEnabled, err)
	}
	// A patch that changes the schedule and switches the limits: the
	// switch holds until the next begin or end (Saturday 10:00 is inside
	// "all", but the user said off).
	if s, err := e.SetSettings(engine.SettingsPatch{AltBegin: ptr("08:00"), AltEnabled: ptr(false)}); err != nil || s.AltEnabled {
		t.Errorf("schedule change with an explicit off: on = %v (err %v), want off", s.AltEnabled, err)
	}
	time.Sleep(1500 * time.Millisecond)
	if e.Settings().AltEnabled {
		t.Errorf("the schedule overrode the explicit switch before its next boundary")
	}
	if _, err := e.SetSettings(engine.SettingsPatch{AltEnabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	// Turning the schedule off leaves the switch where it is.
	if s, err := e.SetSettings(engine.SettingsPatch{AltScheduled: ptr(false)}); err != nil || !s.AltEnabled {
		t.Errorf("after turning the schedule off: on = %v (err %v), want still on", s.AltEnabled, err)
	}
	clock.Set(day(6, 20, 0))
	time.Sleep(1500 * time.Millisecond)
	if !e.Settings().AltEnabled {
		t.Errorf("without a schedule, the end time switched the limits off")
	}
}

func TestNewSettingsValidateAndPersist(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	before := n.Engine.Settings()
	bad := []engine.SettingsPatch{
		{AltBegin: ptr("25:00")},
		{AltEnd: ptr("9")},
		{AltDays: ptr("funday")},
		{AltDownloadKBps: ptr(-1)},
		{IncompleteDir: ptr("relative")},
		{PeerPort: ptr(70000)},
		{Encryption: ptr("always")},
		// One bad field spoils the whole patch.
		{AltUploadKBps: ptr(5), Encryption: ptr("never")},
	}
	for _, p := range bad {
		if _, err := n.Engine.SetSettings(p); !isInput(err) {
			t.Errorf("SetSettings(%+v) = %v, want an InputError", p, err)
		}
	}
	if after := n.Engine.Settings(); !reflect.DeepEqual(after, before) {
		t.Errorf("bad patches changed the settings:\n got %+v\nwant %+v", after, before)
	}
	inc := filepath.Join(t.TempDir(), "incomplete")
	s, err := n.Engine.SetSettings(engine.SettingsPatch{IncompleteDir: &inc, PeerPort: ptr(51999), Encryption: ptr("require")})
	if err != nil {
		t.Fatal(err)
	}
	if s.IncompleteDir != inc || s.PeerPort != 51999 || s.Encryption != "require" {
		t.Errorf("settings = %+v, want incomplete dir, peer port and encryption set", s)
	}
	if want := []string{"encryption", "peerPort"}; !reflect.DeepEqual(s.PendingRestart, want) {
		t.Errorf("pending restart = %q, want %q", s.PendingRestart, want)
	}
	saved, _ := engine.RuntimeSettings(n.Store)
	for k, want := range map[string]string{"torrent.incomplete_dir": inc, "torrent.peer_port": "51999", "torrent.encryption": "require"} {
		if saved[k] != want {
			t.Errorf("saved %s = %q, want %q", k, saved[k], want)
		}
	}
	// The saved values are valid config: a daemon loads them as a layer.
	c, _, err := config.Load(config.LoadOptions{Runtime: saved})
	if err != nil {
		t.Fatalf("config.Load with saved settings: %v", err)
	}
	if c.Torrent.PeerPort != 51999 || c.Torrent.Encryption != "require" || c.Torrent.IncompleteDir != inc {
		t.Errorf("loaded config: port %d, encryption %q, incomplete %q", c.Torrent.PeerPort, c.Torrent.Encryption, c.Torrent.IncompleteDir)
	}
}

func TestAltLimitApplies(t *testing.T) {
	const lim = 4000 // KB/s: about 3 s for the whole torrent
	files := []enginetest.File{{Path: "a", Size: 6 << 20}, {Path: "b", Size: 6 << 20}}
	tt := enginetest.MakeTorrent(t, t.TempDir(), "turtle", 64<<10, files)
	seeder, _ := seed(t, tt)
	leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
	if _, err := leecher.Engine.SetSettings(engine.SettingsPatch{AltDownloadKBps: ptr(lim), AltEnabled: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Peers: []string{seeder.PeerAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "transfer under the alternative limit", enginetest.Complete)
	// A lower bound only, far below size/limit (3.1 s): it catches a limit
	// that is not applied at all.
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("transfer took %v, want at least 1.5s at %d KB/s", d, lim)
	}
}

func TestSetLocation(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	orig := enginetest.MakeTorrent(t, t.TempDir(), "movable", 32<<10, multiFile)
	tt := copyData(t, orig) // the move takes tt's data away; orig stays to compare with
	got := seedFrom(t, n, tt)
	hashed := n.Engine.Stats().BytesHashed

	// Move: the data goes, completion stays, nothing is hashed again.
	dst := filepath.Join(t.TempDir(), "new home")
	if err := n.Engine.SetLocation(got.ID, dst, true); err != nil {
		t.Fatalf("SetLocation(move): %v", err)
	}
	x := enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding from the new folder", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	if x.Dir != dst || x.Done != x.WantedSize {
		t.Errorf("after move: dir %q, %d/%d bytes; want %q, complete", x.Dir, x.Done, x.WantedSize, dst)
	}
	if _, err := os.Stat(filepath.Join(tt.Dir, tt.Name)); !os.IsNotExist(err) {
		t.Errorf("old folder still there after the move (err %v)", err)
	}
	if h := n.Engine.Stats().BytesHashed; h != hashed {
		t.Errorf("moving hashed %d bytes, want 0", h-hashed)
	}

	// A destination that already holds the name: refused, nothing moves,
	// the torrent keeps seeding where it was.
	clash := t.TempDir()
	if err := os.Mkdir(filepath.Join(clash, tt.Name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := n.Engine.SetLocation(got.ID, clash, true); err == nil {
		t.Fatalf("SetLocation onto an existing folder succeeded")
	}
	x = enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding after a failed move", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	if x.Dir != dst || x.Error != "" {
		t.Errorf("after a failed move: dir %q error %q, want %q and no error", x.Dir, x.Error, dst)
	}
	enginetest.SameFiles(t, orig, dst)

	// Bad input changes nothing.
	for _, d := range []string{"", "relative/x"} {
		if err := n.Engine.SetLocation(got.ID, d, true); !isInput(err) {
			t.Errorf("SetLocation(%q) = %v, want an InputError", d, err)
		}
	}
	if err := n.Engine.SetLocation(99, dst, true); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("SetLocation(unknown id) = %v, want ErrNotFound", err)
	}

	// Without moving: the engine looks in the new folder and verifies what
	// it finds there (nothing).
	empty := t.TempDir()
	if err := n.Engine.SetLocation(got.ID, empty, false); err != nil {
		t.Fatalf("SetLocation(find): %v", err)
	}
	x = enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "verified empty folder", func(x engine.Torrent) bool {
		return x.State != engine.StateChecking && x.Dir == empty && x.Done == 0
	})
	if _, err := os.Stat(filepath.Join(dst, tt.Name)); err != nil {
		t.Errorf("set location without move touched the old data: %v", err)
	}
	// And back to where the data is: complete again after the check.
	if err := n.Engine.SetLocation(got.ID, dst, false); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "complete after finding the data", enginetest.Complete)
}

func TestRenamePath(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	tt := enginetest.MakeTorrent(t, t.TempDir(), "album", 32<<10, multiFile)
	got := seedFrom(t, n, tt)
	hashed := n.Engine.Stats().BytesHashed

	bad := []struct{ path, name string }{
		{"album/sub", "../escape"},
		{"album/sub", "a/b"},
		{"album/sub", ""},
		{"album/../etc", "x"},
		{"album/nope", "x"},
		{"album/sub", "a.bin"}, // already a file there
		{"/album", "x"},
	}
	for _, b := range bad {
		if err := n.Engine.RenamePath(got.ID, b.path, b.name); !isInput(err) {
			t.Errorf("RenamePath(%q, %q) = %v, want an InputError", b.path, b.name, err)
		}
	}
	if err := n.Engine.RenamePath(got.ID, "album/sub", "disc 1"); err != nil {
		t.Fatalf("rename folder: %v", err)
	}
	if err := n.Engine.RenamePath(got.ID, "album/d.bin", "renamed.bin"); err != nil {
		t.Fatalf("rename file: %v", err)
	}
	if err := n.Engine.RenamePath(got.ID, "album", "Album (2024)"); err != nil {
		t.Fatalf("rename root: %v", err)
	}
	x := enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding after renames", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	var paths []string
	for _, f := range x.Files {
		paths = append(paths, f.Path)
	}
	// Files are in the torrent's order: a.bin, d.bin, sub/b.bin, sub/deeper/c.bin.
	want := []string{"a.bin", "renamed.bin", "disc 1/b.bin", "disc 1/deeper/c.bin"}
	if x.Name != "Album (2024)" || !reflect.DeepEqual(paths, want) {
		t.Errorf("after renames: name %q, paths %q; want %q, %q", x.Name, paths, "Album (2024)", want)
	}
	if x.Done != x.WantedSize {
		t.Errorf("after renames %d/%d bytes, want complete", x.Done, x.WantedSize)
	}
	root := filepath.Join(tt.Dir, "Album (2024)")
	for _, p := range []string{"a.bin", "disc 1/b.bin", "disc 1/deeper/c.bin", "renamed.bin"} {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			t.Errorf("renamed file on disk: %v", err)
		}
	}
	if h := n.Engine.Stats().BytesHashed; h != hashed {
		t.Errorf("renames hashed %d bytes, want 0", h-hashed)
	}
	// A full check finds every byte under the new names.
	if err := n.Engine.Verify(got.ID); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "verified after renames", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding && x.Done == x.WantedSize
	})

	// The names survive a restart, and removing with data deletes the
	// renamed files.
	dir := n.Dir
	n.Close()
	again := enginetest.StartNode(t, enginetest.NodeOptions{Dir: dir})
	x = enginetest.WaitFor(t, again.Engine, ref(got.ID), timeout, "seeding after restart", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding
	})
	if x.Name != "Album (2024)" || x.Files[1].Path != "renamed.bin" {
		t.Errorf("after restart: name %q, file 1 %q", x.Name, x.Files[1].Path)
	}
	if err := again.Engine.Remove(got.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("renamed root still there after remove with data (err %v)", err)
	}
}

func TestRenameSingleFile(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	dir := t.TempDir()
	st := singleFileTorrent(t, dir, "one.iso", 70000)
	got := seedFrom(t, n, st)
	if err := n.Engine.RenamePath(got.ID, "one.iso", "two.iso"); err != nil {
		t.Fatalf("rename single file: %v", err)
	}
	x := enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })
	if x.Name != "two.iso" || x.Done != x.WantedSize {
		t.Errorf("after rename: name %q, %d/%d bytes", x.Name, x.Done, x.WantedSize)
	}
	if _, err := os.Stat(filepath.Join(dir, "two.iso")); err != nil {
		t.Errorf("renamed file: %v", err)
	}
}

// singleFileTorrent writes a file of random bytes and makes a
// single-file torrent of it.
func singleFileTorrent(t *testing.T, dir, name string, size int) *enginetest.Torrent {
	t.Helper()
	data := make([]byte, size)
	rand.Read(data)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	info := metainfo.Info{PieceLength: 16 << 10}
	if err := info.BuildFromFilePath(p); err != nil {
		t.Fatal(err)
	}
	mi, ih := enginetest.MetaInfoBytes(t, info)
	return &enginetest.Torrent{Dir: dir, Name: name, Metainfo: mi, InfoHash: ih, PieceSize: 16 << 10}
}

func TestIncompleteDir(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "fresh", 32<<10, multiFile[:2])
	seeder, _ := seed(t, tt)
	inc := filepath.Join(t.TempDir(), "incomplete")
	leecher := enginetest.StartNode(t, enginetest.NodeOptions{Config: func(c *config.Config) { c.Torrent.IncompleteDir = inc }})
	got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo})
	if err != nil {
		t.Fatal(err)
	}
	if got.DataDir != inc {
		t.Fatalf("a new download's data dir = %q, want the incomplete folder %q", got.DataDir, inc)
	}
	if err := leecher.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
		t.Fatal(err)
	}
	x := enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "seeding from the download folder", func(x engine.Torrent) bool {
		return x.State == engine.StateSeeding && x.DataDir == ""
	})
	enginetest.SameFiles(t, tt, x.Dir)
	if _, err := os.Stat(filepath.Join(inc, tt.Name)); !os.IsNotExist(err) {
		t.Errorf("data still in the incomplete folder (err %v)", err)
	}
	// A torrent added to seed data already in its folder stays there.
	other := enginetest.MakeTorrent(t, t.TempDir(), "existing", 32<<10, multiFile[:1])
	y, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: other.Metainfo, Dir: other.Dir})
	if err != nil {
		t.Fatal(err)
	}
	y = enginetest.WaitFor(t, leecher.Engine, ref(y.ID), timeout, "seeding existing data", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })
	if y.DataDir != "" {
		t.Errorf("existing data: data dir %q, want its own folder", y.DataDir)
	}
}

// TestAddInPlace: a torrent added in place (channels) downloads straight
// into its folder although an incomplete folder is set, also after a
// restart.
func TestAddInPlace(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "in place", 32<<10, multiFile[:2])
	seeder, _ := seed(t, tt)
	inc := filepath.Join(t.TempDir(), "incomplete")
	withInc := func(c *config.Config) { c.Torrent.IncompleteDir = inc }
	leecher := enginetest.StartNode(t, enginetest.NodeOptions{Config: withInc})
	dir := filepath.Join(t.TempDir(), "channel")
	got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: dir, InPlace: true, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	leecher.Close()
	leecher = enginetest.StartNode(t, enginetest.NodeOptions{Dir: leecher.Dir, Config: withInc})
	if err := leecher.Engine.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	if x, _ := leecher.Engine.Get(ref(got.ID)); x.DataDir != "" {
		t.Errorf("data dir after resume = %q, want none (in place)", x.DataDir)
	}
	if err := leecher.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
		t.Fatal(err)
	}
	x := enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })
	enginetest.SameFiles(t, tt, x.Dir)
	if _, err := os.Stat(inc); !os.IsNotExist(err) {
		t.Errorf("the incomplete folder was used (stat: %v)", err)
	}
}

func TestReannounceKeepsRunning(t *testing.T) {
	n := enginetest.StartNode(t, enginetest.NodeOptions{})
	tt := enginetest.MakeTorrent(t, t.TempDir(), "announce", 32<<10, multiFile[:1])
	got := seedFrom(t, n, tt)
	hashed := n.Engine.Stats().BytesHashed
	if err := n.Engine.Reannounce(got.ID); err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, n.Engine, ref(got.ID), timeout, "seeding", func(x engine.Torrent) bool { return x.State == engine.StateSeeding })
	if h := n.Engine.Stats().BytesHashed; h != hashed {
		t.Errorf("reannounce hashed %d bytes", h-hashed)
	}
	if err := n.Engine.Reannounce(77); !errors.Is(err, engine.ErrNotFound) {
		t.Errorf("Reannounce(unknown) = %v, want ErrNotFound", err)
	}
}

func TestPeersPiecesRemovedTotals(t *testing.T) {
	tt := enginetest.MakeTorrent(t, t.TempDir(), "swarm", 32<<10, multiFile[:2])
	seeder, _ := seed(t, tt)
	leecher := enginetest.StartNode(t, enginetest.NodeOptions{})
	got, _, err := leecher.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	if bm, err := leecher.Engine.Pieces(got.ID); err != nil || len(bm) != got.PieceCount || slices.Contains(bm, true) {
		t.Fatalf("Pieces before download = %d pieces (any %v), err %v; want %d, none", len(bm), slices.Contains(bm, true), err, got.PieceCount)
	}
	if p, err := leecher.Engine.Peers(got.ID); err != nil || len(p) != 0 {
		t.Fatalf("Peers of a paused torrent = %v, %v; want none", p, err)
	}
	// Slow enough (about 4 s) to see the peer while it sends.
	if err := leecher.Engine.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptr(300)}); err != nil {
		t.Fatal(err)
	}
	if err := leecher.Engine.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	if err := leecher.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
		t.Fatal(err)
	}
	var peers []engine.Peer
	deadline := time.Now().Add(timeout)
	for {
		peers, err = leecher.Engine.Peers(got.ID)
		x, _ := leecher.Engine.Get(ref(got.ID))
		if err == nil && len(peers) == 1 && peers[0].DownRate > 0 && x.PeersSending == 1 {
			break
		}
		if time.Now().After(deadline) || x.Done == x.WantedSize {
			t.Fatalf("Peers while downloading = %+v (err %v), sending %d; want the seeder sending", peers, err, x.PeersSending)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p := peers[0]; p.Source != "link" || p.Progress != 1 || p.Addr != seeder.PeerAddr() {
		t.Errorf("peer = %+v, want the seeder %s, found through a link, with every piece", p, seeder.PeerAddr())
	}
	enginetest.WaitFor(t, leecher.Engine, ref(got.ID), timeout, "download", enginetest.Complete)
	if bm, err := leecher.Engine.Pieces(got.ID); err != nil || slices.Contains(bm, false) {
		t.Errorf("Pieces after download: a piece is missing (err %v)", err)
	}
	since := time.Now()
	if err := leecher.Engine.Remove(got.ID, false); err != nil {
		t.Fatal(err)
	}
	if ids := leecher.Engine.Removed(since); !reflect.DeepEqual(ids, []int64{got.ID}) {
		t.Errorf("Removed = %v, want [%d]", ids, got.ID)
	}
	if ids := leecher.Engine.Removed(time.Now().Add(time.Second)); len(ids) != 0 {
		t.Errorf("Removed(later) = %v, want none", ids)
	}
	tot := leecher.Engine.Stats().Total
	if tot.Sessions != 1 || tot.Downloaded < got.Size {
		t.Errorf("totals = %+v, want 1 session and at least %d bytes down", tot, got.Size)
	}
	dir := leecher.Dir
	leecher.Close()
	again := enginetest.StartNode(t, enginetest.NodeOptions{Dir: dir})
	tot2 := again.Engine.Stats().Total
	if tot2.Sessions != 2 || tot2.Downloaded != tot.Downloaded {
		t.Errorf("totals after restart = %+v, want 2 sessions and %d bytes down", tot2, tot.Downloaded)
	}
}
