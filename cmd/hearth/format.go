package main

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hearth-media/hearth/engine"
)

// Units are decimal (1 kB = 1000 bytes), like the rate limits (kB/s).

// humanSize prints a byte count: 999 B, 1.5 kB, 12.3 MB, 1.2 GB.
func humanSize(n int64) string {
	if n < 0 {
		return "?"
	}
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	const units = "kMGTPE"
	f := float64(n)
	i := -1
	for (f >= 999.95 || i < 0) && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.1f %cB", f, units[i])
}

// humanRate prints bytes per second.
func humanRate(n int64) string { return humanSize(n) + "/s" }

// rateCell is a rate for a table: "-" when idle, so busy torrents stand out.
func rateCell(n int64) string {
	if n <= 0 {
		return "-"
	}
	return humanRate(n)
}

// humanDuration prints a duration coarsely: 45s, 5m07s, 1h05m, 3d04h.
func humanDuration(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s%86400/3600)
}

// etaCell is a torrent's time left, or "-" when unknown or not downloading.
func etaCell(t engine.Torrent) string {
	if t.State != engine.StateDownloading || t.ETA <= 0 {
		return "-"
	}
	return humanDuration(time.Duration(t.ETA) * time.Second)
}

// percent prints progress (0..1) rounded down, so 100% means complete.
func percent(p float64) string {
	if p >= 1 {
		return "100%"
	}
	if p <= 0 || math.IsNaN(p) {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", math.Floor(p*1000)/10)
}

// sizeCell is a torrent's wanted size, "?" before its metadata is known.
func sizeCell(t engine.Torrent) string {
	if !t.HasMetadata {
		return "?"
	}
	return humanSize(t.WantedSize)
}

// truncate shortens s to at most n characters, marking the cut with "…".
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// nameWidthUnknown is the name column's width when the terminal's is unknown.
const nameWidthUnknown = 60

// table lays out rows in columns two spaces apart. right says which
// columns align right. The last column is cut to fit width (0 = unknown:
// at most nameWidthUnknown characters; negative: never cut).
func table(header []string, rows [][]string, right []bool, width int) string {
	cols := len(header)
	w := make([]int, cols)
	for _, r := range append([][]string{header}, rows...) {
		for i := 0; i < cols-1; i++ {
			w[i] = max(w[i], utf8.RuneCountInString(r[i]))
		}
	}
	last := nameWidthUnknown
	if width < 0 {
		last = math.MaxInt
	} else if width > 0 {
		used := 0
		for i := 0; i < cols-1; i++ {
			used += w[i] + 2
		}
		last = max(width-1-used, 10)
	}
	var b strings.Builder
	for _, r := range append([][]string{header}, rows...) {
		for i := 0; i < cols-1; i++ {
			pad := strings.Repeat(" ", w[i]-utf8.RuneCountInString(r[i]))
			if right[i] {
				b.WriteString(pad + r[i])
			} else {
				b.WriteString(r[i] + pad)
			}
			b.WriteString("  ")
		}
		b.WriteString(truncate(r[cols-1], last))
		b.WriteByte('\n')
	}
	return b.String()
}

// lsTable is the table of "hearth ls".
func lsTable(list []engine.Torrent, width int) string {
	header := []string{"ID", "%", "SIZE", "DOWN", "UP", "ETA", "STATE", "NAME"}
	right := []bool{true, true, true, true, true, true, false, false}
	rows := make([][]string, 0, len(list))
	for _, t := range list {
		rows = append(rows, []string{
			fmt.Sprint(t.ID), percent(t.Progress), sizeCell(t), rateCell(t.DownRate), rateCell(t.UpRate),
			etaCell(t), string(t.State), oneLine(t.Name),
		})
	}
	return table(header, rows, right, width)
}

// filesTable is the files part of "hearth info".
func filesTable(files []engine.File, width int) string {
	header := []string{"#", "%", "SIZE", "PRIORITY", "WANTED", "PATH"}
	right := []bool{true, true, true, false, false, false}
	rows := make([][]string, 0, len(files))
	for _, f := range files {
		p := 1.0
		if f.Size > 0 {
			p = float64(f.Done) / float64(f.Size)
		}
		wanted := "yes"
		if !f.Wanted {
			wanted = "no"
		}
		rows = append(rows, []string{fmt.Sprint(f.Index), percent(p), humanSize(f.Size), priorityName(f.Priority), wanted, oneLine(f.Path)})
	}
	return table(header, rows, right, width)
}

func priorityName(p engine.Priority) string {
	switch p {
	case engine.PriorityLow:
		return "low"
	case engine.PriorityNormal:
		return "normal"
	case engine.PriorityHigh:
		return "high"
	}
	return fmt.Sprint(int(p))
}

// infoText is the detail part of "hearth info".
func infoText(t engine.Torrent) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k+":", v) }
	line("Name", oneLine(t.Name))
	line("ID", fmt.Sprint(t.ID))
	line("Info hash", t.InfoHash)
	line("State", string(t.State))
	if t.Error != "" {
		line("Error", oneLine(t.Error))
	}
	if t.HasMetadata {
		line("Progress", fmt.Sprintf("%s (%s of %s)", percent(t.Progress), humanSize(t.Done), humanSize(t.WantedSize)))
		size := humanSize(t.Size)
		if t.WantedSize != t.Size {
			size += fmt.Sprintf(" (%s wanted)", humanSize(t.WantedSize))
		}
		line("Size", fmt.Sprintf("%s in %d files; %d pieces of %s, %d verified", size, len(t.Files), t.PieceCount, humanSize(t.PieceSize), t.PiecesDone))
	} else {
		line("Progress", "waiting for metadata from peers")
	}
	line("Folder", t.Dir)
	line("Speed", fmt.Sprintf("down %s, up %s", humanRate(t.DownRate), humanRate(t.UpRate)))
	line("Transferred", fmt.Sprintf("%s down, %s up, ratio %.2f", humanSize(t.Downloaded), humanSize(t.Uploaded), t.Ratio))
	line("Peers", fmt.Sprintf("%d connected, %d seeds", t.Peers, t.Seeds))
	if eta := etaCell(t); eta != "-" {
		line("ETA", eta)
	}
	line("Queue", fmt.Sprintf("position %d", t.QueuePos))
	line("Limits", optionsText(t.Options))
	line("Added", timeText(t.AddedAt))
	if !t.DoneAt.IsZero() {
		line("Completed", timeText(t.DoneAt))
	}
	if !t.LastActivity.IsZero() {
		line("Last active", timeText(t.LastActivity))
	}
	line("Magnet", t.Magnet)
	return b.String()
}

func timeText(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

func optionsText(o engine.TorrentOptions) string {
	limit := func(kbps int) string {
		if kbps <= 0 {
			return "unlimited"
		}
		return fmt.Sprintf("%d kB/s", kbps)
	}
	ratio := "global"
	switch {
	case o.SeedRatio == 0:
		ratio = "never stop"
	case o.SeedRatio > 0:
		ratio = fmt.Sprintf("%g", o.SeedRatio)
	}
	idle := "global"
	switch {
	case o.SeedIdle == 0:
		idle = "never stop"
	case o.SeedIdle > 0:
		idle = o.SeedIdle.String()
	}
	return fmt.Sprintf("down %s, up %s, seed ratio %s, seed idle %s", limit(o.DownloadKBps), limit(o.UploadKBps), ratio, idle)
}

// settingsText prints the global settings.
func settingsText(s engine.Settings) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%-15s %s\n", k+":", v) }
	limit := func(kbps int) string {
		if kbps <= 0 {
			return "unlimited"
		}
		return fmt.Sprintf("%d kB/s", kbps)
	}
	count := func(n int) string {
		if n <= 0 {
			return "no limit"
		}
		return fmt.Sprint(n)
	}
	line("Download limit", limit(s.DownloadKBps))
	line("Upload limit", limit(s.UploadKBps))
	line("Max downloads", count(s.MaxDownloads))
	line("Max seeds", count(s.MaxSeeds))
	if s.SeedRatio > 0 {
		line("Seed ratio", fmt.Sprintf("%g", s.SeedRatio))
	} else {
		line("Seed ratio", "never stop")
	}
	if s.SeedIdle > 0 {
		line("Seed idle", s.SeedIdle.String())
	} else {
		line("Seed idle", "never stop")
	}
	line("Download dir", s.DownloadDir)
	return b.String()
}

// progressLine is the live line of "hearth add --wait" on a terminal,
// at most width-1 characters (the last column would wrap on some terminals).
func progressLine(t engine.Torrent, width int) string {
	if width <= 0 {
		width = 80
	}
	var stats string
	if t.HasMetadata {
		stats = fmt.Sprintf(" %6s  %s/%s  down %s  up %s  %d peers", percent(t.Progress), humanSize(t.Done), humanSize(t.WantedSize), humanRate(t.DownRate), humanRate(t.UpRate), t.Peers)
	} else {
		stats = fmt.Sprintf("  fetching metadata  %d peers", t.Peers)
	}
	if eta := etaCell(t); eta != "-" {
		stats += "  ETA " + eta
	}
	if t.State != engine.StateDownloading && t.HasMetadata {
		stats += "  " + string(t.State)
	}
	room := width - 1 - utf8.RuneCountInString(stats)
	const barWidth = 20
	bar := ""
	if t.HasMetadata && room >= barWidth+3+12 {
		filled := int(math.Floor(t.Progress * barWidth))
		filled = min(max(filled, 0), barWidth)
		bar = " [" + strings.Repeat("#", filled) + strings.Repeat(".", barWidth-filled) + "]"
		room -= barWidth + 3
	}
	name := truncate(oneLine(t.Name), max(room, 8))
	line := name + bar + stats
	return truncate(line, width-1)
}

// plainProgress is a periodic line of "hearth add --wait" when the output
// is not a terminal.
func plainProgress(t engine.Torrent) string {
	s := fmt.Sprintf("torrent %d %s: %s", t.ID, oneLine(t.Name), t.State)
	if t.HasMetadata {
		s += fmt.Sprintf(" %s (%s of %s)", percent(t.Progress), humanSize(t.Done), humanSize(t.WantedSize))
	}
	s += fmt.Sprintf(", down %s, up %s, %d peers", humanRate(t.DownRate), humanRate(t.UpRate), t.Peers)
	if eta := etaCell(t); eta != "-" {
		s += ", ETA " + eta
	}
	return s
}

// complete says whether --wait is over: every wanted byte is there.
func complete(t engine.Torrent) bool {
	switch t.State {
	case engine.StateSeeding, engine.StateQueuedSeed:
		return true
	case engine.StateStopped:
		return t.HasMetadata && t.Done >= t.WantedSize // finished: its seeding limit was reached
	}
	return false
}
