package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
)

func cmdSet() *command {
	return &command{
		name:  "set",
		args:  "[flags] REF... | --global [flags]",
		short: "change a torrent's limits, files and queue place, or global settings",
		long: `
Change torrents (REF is an ID from "hearth ls" or an infohash), or with
--global the daemon's settings, which persist across restarts. Only the flags
given change anything. Rates are in kB/s (1 kB = 1000 bytes), 0 = unlimited.

Seeding stops when the upload ratio reaches --seed-ratio or after
--seed-idle without uploading (a duration: 90m, 12h, 7d); 0 (or "never")
means never stop. For a torrent, "global" returns to the global setting.

Files are chosen by the indexes "hearth info REF" shows: --want 0,2 downloads
them, --skip 3 does not, "all" means every file. --priority high:1,2 (low,
normal or high) orders the pieces of wanted files.

Per-torrent flags: --down-limit --up-limit --seed-ratio --seed-idle
  --queue-pos --want --skip --priority
Global flags (with --global): --down-limit --up-limit --seed-ratio
  --seed-idle --max-downloads --max-seeds --download-dir`,
		example: `
hearth set 3 --down-limit 500 --seed-ratio 2
hearth set 3 --skip all --want 0,4 --priority high:4
hearth set 5 --queue-pos 0
hearth set --global --max-downloads 2 --up-limit 100 --seed-idle 7d`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			api := apiFlag(fs)
			global := fs.Bool("global", false, "change the daemon's settings instead of torrents")
			down := fs.Int("down-limit", 0, "download limit: `N` kB/s (0 = unlimited)")
			up := fs.Int("up-limit", 0, "upload limit: `N` kB/s (0 = unlimited)")
			ratio := fs.String("seed-ratio", "", "stop seeding at this upload `RATIO` (0 or never; for a torrent also global)")
			idle := fs.String("seed-idle", "", "stop seeding after this `DURATION` without upload (0 or never; for a torrent also global)")
			queuePos := fs.Int("queue-pos", 0, "move the torrent to queue position `N` (0 = first)")
			want := fs.String("want", "", "download the files with these `INDEXES` (comma separated, or all)")
			skip := fs.String("skip", "", "do not download the files with these `INDEXES` (comma separated, or all)")
			var prio stringList
			fs.Var(&prio, "priority", "set files' priority: `LEVEL:INDEXES`, LEVEL low, normal or high (repeatable)")
			maxDown := fs.Int("max-downloads", 0, "global: `N` torrents downloading at once (0 = no limit)")
			maxSeeds := fs.Int("max-seeds", 0, "global: `N` torrents seeding at once (0 = no limit)")
			dlDir := fs.String("download-dir", "", "global: default `DIR` for new downloads")
			return func(ctx context.Context, args []string) error {
				set := flagsSet(fs)
				delete(set, "api")
				delete(set, "global")
				if len(set) == 0 {
					return usageErrorf("nothing to set: give at least one flag")
				}
				cl, err := newClient(*api)
				if err != nil {
					return err
				}
				if *global {
					if len(args) > 0 {
						return usageErrorf("--global changes the daemon's settings: give no torrent (got %q)", args[0])
					}
					for _, f := range []string{"queue-pos", "want", "skip", "priority"} {
						if set[f] {
							return usageErrorf("--%s applies to a torrent, not with --global", f)
						}
					}
					var p engine.SettingsPatch
					if set["down-limit"] {
						p.DownloadKBps = nonNegative("down-limit", *down, &err)
					}
					if set["up-limit"] {
						p.UploadKBps = nonNegative("up-limit", *up, &err)
					}
					if set["max-downloads"] {
						p.MaxDownloads = nonNegative("max-downloads", *maxDown, &err)
					}
					if set["max-seeds"] {
						p.MaxSeeds = nonNegative("max-seeds", *maxSeeds, &err)
					}
					if set["seed-ratio"] {
						r, perr := parseRatio(*ratio, false)
						p.SeedRatio, err = &r, firstErr(err, perr)
					}
					if set["seed-idle"] {
						d, perr := parseIdle(*idle, false)
						p.SeedIdle, err = &d, firstErr(err, perr)
					}
					if set["download-dir"] {
						d, aerr := filepath.Abs(*dlDir)
						p.DownloadDir, err = &d, firstErr(err, aerr)
					}
					if err != nil {
						return err
					}
					var s engine.Settings
					if err := cl.do(ctx, http.MethodPatch, "/settings", p, &s); err != nil {
						return err
					}
					fmt.Fprint(c.stdout, settingsText(s))
					return nil
				}

				if len(args) == 0 {
					return usageErrorf("give a torrent ID or infohash, or --global")
				}
				for _, f := range []string{"max-downloads", "max-seeds", "download-dir"} {
					if set[f] {
						return usageErrorf("--%s is a global setting: use it with --global", f)
					}
				}
				var tp torrentPatch
				var o engine.OptionsPatch
				if set["down-limit"] {
					o.DownloadKBps = nonNegative("down-limit", *down, &err)
				}
				if set["up-limit"] {
					o.UploadKBps = nonNegative("up-limit", *up, &err)
				}
				if set["seed-ratio"] {
					r, perr := parseRatio(*ratio, true)
					o.SeedRatio, err = &r, firstErr(err, perr)
				}
				if set["seed-idle"] {
					d, perr := parseIdle(*idle, true)
					o.SeedIdle, err = &d, firstErr(err, perr)
				}
				if set["queue-pos"] {
					tp.QueuePos = nonNegative("queue-pos", *queuePos, &err)
				}
				if err != nil {
					return err
				}
				if o != (engine.OptionsPatch{}) {
					tp.Options = &o
				}
				fileSpec, err := parseFileSpec(*want, *skip, prio, set)
				if err != nil {
					return err
				}
				return c.forEachRef(ctx, args, func(ref string) error {
					p := tp
					if fileSpec != nil {
						t, err := cl.get(ctx, ref)
						if err != nil {
							return err
						}
						if p.Files, err = fileSpec.patches(len(t.Files)); err != nil {
							return fmt.Errorf("torrent %d: %w", t.ID, err)
						}
					}
					var t engine.Torrent
					if err := cl.do(ctx, http.MethodPatch, torrentPath(ref), p, &t); err != nil {
						return err
					}
					fmt.Fprintf(c.stdout, "updated torrent %d: %s\n  queue position %d; %s\n", t.ID, oneLine(t.Name), t.QueuePos, optionsText(t.Options))
					return nil
				})
			}
		},
	}
}

// torrentPatch is the JSON of PATCH /api/v1/torrents/{ref}.
type torrentPatch struct {
	Files    []engine.FilePatch   `json:"files,omitempty"`
	Options  *engine.OptionsPatch `json:"options,omitempty"`
	QueuePos *int                 `json:"queuePos,omitempty"`
}

func firstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// nonNegative returns &v, or sets *err for a negative value.
func nonNegative(name string, v int, err *error) *int {
	if v < 0 && *err == nil {
		*err = usageErrorf("--%s %d: must be 0 or more", name, v)
	}
	return &v
}

// parseRatio parses --seed-ratio: a number ≥ 0, "never" (0), and for a
// torrent "global" (-1).
func parseRatio(s string, perTorrent bool) (float64, error) {
	switch strings.ToLower(s) {
	case "never":
		return 0, nil
	case "global":
		if perTorrent {
			return -1, nil
		}
		return 0, usageErrorf("--seed-ratio global: only for a torrent; with --global give a ratio or never")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, usageErrorf("--seed-ratio %q: want a ratio like 1.5, never (0) or global", s)
	}
	return f, nil
}

// parseIdle parses --seed-idle: a Go duration or N days ("7d"), "never"
// (0), and for a torrent "global" (-1).
func parseIdle(s string, perTorrent bool) (time.Duration, error) {
	switch strings.ToLower(s) {
	case "never", "0":
		return 0, nil
	case "global":
		if perTorrent {
			return -1, nil
		}
		return 0, usageErrorf("--seed-idle global: only for a torrent; with --global give a duration or never")
	}
	bad := usageErrorf("--seed-idle %q: want a duration like 90m, 12h or 7d, never (0) or global", s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, bad
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, bad
	}
	return d, nil
}

// fileSpec is what --want, --skip and --priority ask for; "all" needs the
// torrent's file count, known only from the daemon.
type fileSpec struct {
	want, skip        indexSet
	priority          map[engine.Priority]indexSet
	priorityOrderKeys []engine.Priority
}

// indexSet is a set of file indexes, or all of them.
type indexSet struct {
	all  bool
	idxs []int
}

func (s indexSet) expand(n int) ([]int, error) {
	if s.all {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	for _, i := range s.idxs {
		if i >= n {
			return nil, fmt.Errorf("file index %d out of range: the torrent has %d files", i, n)
		}
	}
	return s.idxs, nil
}

func parseIndexSet(flagName, s string) (indexSet, error) {
	if strings.EqualFold(strings.TrimSpace(s), "all") {
		return indexSet{all: true}, nil
	}
	idxs, err := parseIndexes(s)
	if err != nil {
		return indexSet{}, usageErrorf("--%s: %v", flagName, err)
	}
	return indexSet{idxs: idxs}, nil
}

// parseFileSpec reads the file flags; nil when none was given.
func parseFileSpec(want, skip string, prio []string, set map[string]bool) (*fileSpec, error) {
	if !set["want"] && !set["skip"] && !set["priority"] {
		return nil, nil
	}
	fs := &fileSpec{priority: map[engine.Priority]indexSet{}}
	var err error
	if set["want"] {
		if fs.want, err = parseIndexSet("want", want); err != nil {
			return nil, err
		}
	}
	if set["skip"] {
		if fs.skip, err = parseIndexSet("skip", skip); err != nil {
			return nil, err
		}
	}
	if fs.want.all && fs.skip.all {
		return nil, usageErrorf("--want all and --skip all contradict each other")
	}
	for _, p := range prio {
		level, list, ok := strings.Cut(p, ":")
		if !ok {
			return nil, usageErrorf("--priority %q: want LEVEL:INDEXES, like high:0,2", p)
		}
		var pr engine.Priority
		switch strings.ToLower(level) {
		case "low":
			pr = engine.PriorityLow
		case "normal":
			pr = engine.PriorityNormal
		case "high":
			pr = engine.PriorityHigh
		default:
			return nil, usageErrorf("--priority %q: level must be low, normal or high", p)
		}
		s, err := parseIndexSet("priority", list)
		if err != nil {
			return nil, err
		}
		if _, dup := fs.priority[pr]; dup {
			return nil, usageErrorf("--priority %s given twice: list all its files at once", level)
		}
		fs.priority[pr] = s
		fs.priorityOrderKeys = append(fs.priorityOrderKeys, pr)
	}
	return fs, nil
}

// patches turns the spec into file patches for a torrent of n files.
// "all" applies first, so "--skip all --want 2" downloads only file 2.
func (fs *fileSpec) patches(n int) ([]engine.FilePatch, error) {
	byIdx := map[int]*engine.FilePatch{}
	get := func(i int) *engine.FilePatch {
		if byIdx[i] == nil {
			byIdx[i] = &engine.FilePatch{Index: i}
		}
		return byIdx[i]
	}
	explicit := map[int]bool{} // files named in --want or --skip lists
	setWanted := func(s indexSet, v bool, pass int) error {
		if (pass == 0) != s.all {
			return nil
		}
		idxs, err := s.expand(n)
		if err != nil {
			return err
		}
		for _, i := range idxs {
			if prev, ok := explicit[i]; ok && prev != v {
				return fmt.Errorf("file %d is both in --want and --skip", i)
			}
			if pass == 1 {
				explicit[i] = v
			}
			w := v
			get(i).Wanted = &w
		}
		return nil
	}
	for pass := range 2 {
		if err := setWanted(fs.want, true, pass); err != nil {
			return nil, err
		}
		if err := setWanted(fs.skip, false, pass); err != nil {
			return nil, err
		}
	}
	for _, pr := range fs.priorityOrderKeys {
		idxs, err := fs.priority[pr].expand(n)
		if err != nil {
			return nil, err
		}
		for _, i := range idxs {
			p := get(i)
			if p.Priority != nil && *p.Priority != pr {
				return nil, fmt.Errorf("file %d has two priorities", i)
			}
			v := pr
			p.Priority = &v
		}
	}
	out := make([]engine.FilePatch, 0, len(byIdx))
	for _, p := range byIdx {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}
