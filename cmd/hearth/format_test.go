package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hearth-media/hearth/engine"
)

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{-1, "?"},
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1536, "1.5 kB"},
		{999_949, "999.9 kB"},
		{999_950, "1.0 MB"},
		{12_345_678, "12.3 MB"},
		{1_200_000_000, "1.2 GB"},
		{5_000_000_000_000, "5.0 TB"},
		{1 << 62, "4.6 EB"},
	}
	for _, tc := range tests {
		if got := humanSize(tc.n); got != tc.want {
			t.Errorf("humanSize(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	if got := humanRate(2500); got != "2.5 kB/s" {
		t.Errorf("humanRate(2500) = %q, want 2.5 kB/s", got)
	}
	if got := rateCell(0); got != "-" {
		t.Errorf("rateCell(0) = %q, want -", got)
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "-"},
		{0, "0s"},
		{59 * time.Second, "59s"},
		{5*time.Minute + 7*time.Second, "5m07s"},
		{time.Hour + 5*time.Minute + 59*time.Second, "1h05m"},
		{3*24*time.Hour + 4*time.Hour, "3d04h"},
	}
	for _, tc := range tests {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	tests := []struct {
		p    float64
		want string
	}{
		{0, "0%"}, {0.0004, "0.0%"}, {0.4567, "45.6%"}, {0.99999, "99.9%"}, {1, "100%"}, {1.2, "100%"},
	}
	for _, tc := range tests {
		if got := percent(tc.p); got != tc.want {
			t.Errorf("percent(%v) = %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 5, "hello"},
		{"hello", 4, "hel…"},
		{"héllo wörld", 6, "héllo…"},
		{"hello", 1, "…"},
		{"hello", 0, ""},
	}
	for _, tc := range tests {
		if got := truncate(tc.s, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
}

var sampleTorrents = []engine.Torrent{
	{ID: 1, Name: "ubuntu-24.04-desktop-amd64.iso", State: engine.StateDownloading, HasMetadata: true,
		WantedSize: 6_114_656_256, Done: 2_800_000_000, Progress: 0.4579, DownRate: 5_100_000, UpRate: 120_000, ETA: 650, Peers: 12},
	{ID: 12, Name: "A very long name of a torrent that goes on and on and on, well past any sensible column width", State: engine.StateSeeding,
		HasMetadata: true, WantedSize: 1_234_567, Done: 1_234_567, Progress: 1, UpRate: 2_000, ETA: 0},
	{ID: 3, Name: "magnet only", State: engine.StateMetadata, ETA: -1},
}

func TestLsTable(t *testing.T) {
	got := lsTable(sampleTorrents, 0)
	want := "" +
		"ID      %    SIZE      DOWN          UP     ETA  STATE        NAME\n" +
		" 1  45.7%  6.1 GB  5.1 MB/s  120.0 kB/s  10m50s  downloading  ubuntu-24.04-desktop-amd64.iso\n" +
		"12   100%  1.2 MB         -    2.0 kB/s       -  seeding      A very long name of a torrent that goes on and on and on, w…\n" +
		" 3     0%       ?         -           -       -  metadata     magnet only\n"
	if got != want {
		t.Errorf("lsTable(width 0) =\n%s\nwant\n%s", got, want)
	}
	for _, width := range []int{80, 100, 40} {
		for _, line := range strings.Split(strings.TrimSuffix(lsTable(sampleTorrents, width), "\n"), "\n") {
			n := utf8.RuneCountInString(line)
			fixed := utf8.RuneCountInString(strings.Split(want, "\n")[1]) - len("ubuntu-24.04-desktop-amd64.iso")
			if n > max(width-1, fixed+10) {
				t.Errorf("lsTable(width %d) line is %d wide: %q", width, n, line)
			}
		}
	}
	if got := lsTable(sampleTorrents, 80); !strings.Contains(got, "A very long name…") && !strings.Contains(got, "A very long…") {
		t.Errorf("lsTable(80) does not cut the long name to the terminal:\n%s", got)
	}
}

func TestFilesTable(t *testing.T) {
	files := []engine.File{
		{Index: 0, Path: "dir/a.mkv", Size: 2_000_000, Done: 1_000_000, Wanted: true, Priority: engine.PriorityHigh},
		{Index: 1, Path: "b.nfo", Size: 0, Wanted: false, Priority: engine.PriorityLow},
	}
	want := "" +
		"#      %    SIZE  PRIORITY  WANTED  PATH\n" +
		"0  50.0%  2.0 MB  high      yes     dir/a.mkv\n" +
		"1   100%     0 B  low       no      b.nfo\n"
	if got := filesTable(files, 0); got != want {
		t.Errorf("filesTable =\n%s\nwant\n%s", got, want)
	}
}

func TestInfoText(t *testing.T) {
	tor := sampleTorrents[0]
	tor.InfoHash = strings.Repeat("ab", 20)
	tor.Error = "disk full:\nno space"
	tor.Options = engine.TorrentOptions{DownloadKBps: 0, UploadKBps: 50, SeedRatio: -1, SeedIdle: 2 * time.Hour}
	got := infoText(tor)
	for _, want := range []string{
		"Name:        ubuntu-24.04-desktop-amd64.iso\n",
		"Info hash:   " + tor.InfoHash + "\n",
		"Error:       disk full: no space\n",
		"Progress:    45.7% (2.8 GB of 6.1 GB)\n",
		"ETA:         10m50s\n",
		"Limits:      down unlimited, up 50 kB/s, seed ratio global, seed idle 2h0m0s\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("infoText lacks %q:\n%s", want, got)
		}
	}
	if got := infoText(sampleTorrents[2]); !strings.Contains(got, "waiting for metadata") {
		t.Errorf("infoText of a magnet without metadata:\n%s", got)
	}
}

func TestProgressLine(t *testing.T) {
	tor := sampleTorrents[0]
	got := progressLine(tor, 140)
	want := "ubuntu-24.04-desktop-amd64.iso [#########...........]  45.7%  2.8 GB/6.1 GB  down 5.1 MB/s  up 120.0 kB/s  12 peers  ETA 10m50s"
	if got != want {
		t.Errorf("progressLine(140) =\n%q\nwant\n%q", got, want)
	}
	if got := progressLine(tor, 120); !strings.HasPrefix(got, "ubuntu-24.04-desktop-… [####") {
		t.Errorf("progressLine(120) = %q, want the name cut to make room", got)
	}
	for _, width := range []int{0, 20, 60, 80, 200} {
		got := progressLine(tor, width)
		w := width
		if w == 0 {
			w = 80
		}
		if n := utf8.RuneCountInString(got); n > w-1 {
			t.Errorf("progressLine(width %d) is %d wide: %q", width, n, got)
		}
		if strings.ContainsAny(got, "\r\n") {
			t.Errorf("progressLine(width %d) = %q: must be one line", width, got)
		}
	}
	if got := progressLine(sampleTorrents[2], 80); !strings.Contains(got, "fetching metadata") {
		t.Errorf("progressLine for a magnet = %q, want it to say it is fetching metadata", got)
	}
	checking := tor
	checking.State = engine.StateChecking
	if got := progressLine(checking, 150); !strings.HasSuffix(got, "checking") || strings.Contains(got, "ETA") {
		t.Errorf("progressLine while checking = %q, want the state and no ETA", got)
	}
}

func TestPlainProgress(t *testing.T) {
	got := plainProgress(sampleTorrents[0])
	want := "torrent 1 ubuntu-24.04-desktop-amd64.iso: downloading 45.7% (2.8 GB of 6.1 GB), down 5.1 MB/s, up 120.0 kB/s, 12 peers, ETA 10m50s"
	if got != want {
		t.Errorf("plainProgress =\n%q\nwant\n%q", got, want)
	}
}

func TestComplete(t *testing.T) {
	tests := []struct {
		t    engine.Torrent
		want bool
	}{
		{engine.Torrent{State: engine.StateSeeding}, true},
		{engine.Torrent{State: engine.StateQueuedSeed}, true},
		{engine.Torrent{State: engine.StateStopped, HasMetadata: true, Done: 10, WantedSize: 10}, true},
		{engine.Torrent{State: engine.StateStopped, HasMetadata: true, Done: 5, WantedSize: 10}, false},
		{engine.Torrent{State: engine.StateStopped}, false},
		{engine.Torrent{State: engine.StateDownloading, HasMetadata: true, Done: 10, WantedSize: 10}, false},
		{engine.Torrent{State: engine.StateChecking}, false},
	}
	for _, tc := range tests {
		if got := complete(tc.t); got != tc.want {
			t.Errorf("complete(%+v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

func TestFilePatches(t *testing.T) {
	b := func(v bool) *bool { return &v }
	p := func(v engine.Priority) *engine.Priority { return &v }
	tests := []struct {
		want, skip string
		prio       []string
		n          int
		wantOut    []engine.FilePatch
		wantErr    string
	}{
		{"0,2", "", nil, 3, []engine.FilePatch{{Index: 0, Wanted: b(true)}, {Index: 2, Wanted: b(true)}}, ""},
		{"1", "all", nil, 3, []engine.FilePatch{{Index: 0, Wanted: b(false)}, {Index: 1, Wanted: b(true)}, {Index: 2, Wanted: b(false)}}, ""},
		{"all", "2", []string{"high:0", "low:2"}, 3, []engine.FilePatch{{Index: 0, Wanted: b(true), Priority: p(engine.PriorityHigh)}, {Index: 1, Wanted: b(true)}, {Index: 2, Wanted: b(false), Priority: p(engine.PriorityLow)}}, ""},
		{"", "", []string{"normal:all"}, 2, []engine.FilePatch{{Index: 0, Priority: p(engine.PriorityNormal)}, {Index: 1, Priority: p(engine.PriorityNormal)}}, ""},
		{"1", "1", nil, 3, nil, "both in --want and --skip"},
		{"5", "", nil, 3, nil, "out of range"},
		{"", "", []string{"high:1", "low:1"}, 3, nil, "two priorities"},
	}
	for _, tc := range tests {
		set := map[string]bool{"want": tc.want != "", "skip": tc.skip != "", "priority": len(tc.prio) > 0}
		spec, err := parseFileSpec(tc.want, tc.skip, tc.prio, set)
		if err != nil {
			t.Errorf("parseFileSpec(%q, %q, %q): %v", tc.want, tc.skip, tc.prio, err)
			continue
		}
		got, err := spec.patches(tc.n)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("patches(want %q skip %q prio %q) error = %v, want %q", tc.want, tc.skip, tc.prio, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.EqualFunc(got, tc.wantOut, samePatch) {
			t.Errorf("patches(want %q skip %q prio %q) = %s, %v; want %s", tc.want, tc.skip, tc.prio, patchString(got), err, patchString(tc.wantOut))
		}
	}
}

func samePatch(a, b engine.FilePatch) bool {
	return a.Index == b.Index && (a.Wanted == nil) == (b.Wanted == nil) && (a.Wanted == nil || *a.Wanted == *b.Wanted) &&
		(a.Priority == nil) == (b.Priority == nil) && (a.Priority == nil || *a.Priority == *b.Priority)
}

func patchString(ps []engine.FilePatch) string {
	var parts []string
	for _, p := range ps {
		s := fmt.Sprintf("#%d", p.Index)
		if p.Wanted != nil {
			if *p.Wanted {
				s += " want"
			} else {
				s += " skip"
			}
		}
		if p.Priority != nil {
			s += " " + priorityName(*p.Priority)
		}
		parts = append(parts, s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func TestParseIdleAndRatio(t *testing.T) {
	idle := []struct {
		s     string
		torr  bool
		want  time.Duration
		isErr bool
	}{
		{"90m", false, 90 * time.Minute, false},
		{"7d", false, 7 * 24 * time.Hour, false},
		{"0", false, 0, false},
		{"never", true, 0, false},
		{"global", true, -1, false},
		{"global", false, 0, true},
		{"-5m", true, 0, true},
		{"soon", true, 0, true},
		{"99999d", true, 0, true},
	}
	for _, tc := range idle {
		got, err := parseIdle(tc.s, tc.torr)
		if got != tc.want || (err != nil) != tc.isErr {
			t.Errorf("parseIdle(%q, %v) = %v, %v; want %v, error %v", tc.s, tc.torr, got, err, tc.want, tc.isErr)
		}
	}
	ratio := []struct {
		s     string
		torr  bool
		want  float64
		isErr bool
	}{
		{"1.5", false, 1.5, false},
		{"0", false, 0, false},
		{"never", false, 0, false},
		{"global", true, -1, false},
		{"global", false, 0, true},
		{"-1", true, 0, true},
		{"x", true, 0, true},
	}
	for _, tc := range ratio {
		got, err := parseRatio(tc.s, tc.torr)
		if got != tc.want || (err != nil) != tc.isErr {
			t.Errorf("parseRatio(%q, %v) = %v, %v; want %v, error %v", tc.s, tc.torr, got, err, tc.want, tc.isErr)
		}
	}
}
