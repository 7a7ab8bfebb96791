package transmission

import (
	"encoding/base64"
	"math"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/engine"
)

// Transmission's torrent status numbers.
const (
	statusStopped    = 0
	statusChecking   = 2 // 1 is "waiting to check": the engine checks at once
	statusQueued     = 3
	statusDownload   = 4
	statusQueuedSeed = 5
	statusSeeding    = 6
)

func status(s engine.State) int {
	switch s {
	case engine.StateChecking:
		return statusChecking
	case engine.StateQueued:
		return statusQueued
	case engine.StateDownloading, engine.StateMetadata:
		return statusDownload
	case engine.StateQueuedSeed:
		return statusQueuedSeed
	case engine.StateSeeding:
		return statusSeeding
	}
	return statusStopped // stopped, error, moving
}

// tview is one torrent being described; the file list, peers and pieces
// are fetched only when a requested field needs them.
type tview struct {
	c     *call
	t     engine.Torrent
	full  bool
	peers []engine.Peer
	gotP  bool
}

func (v *tview) withFiles() engine.Torrent {
	if !v.full {
		if t, err := v.c.h.eng.Get(strconv.FormatInt(v.t.ID, 10)); err == nil {
			v.t = t
		}
		v.full = true
	}
	return v.t
}

func (v *tview) peerList() []engine.Peer {
	if !v.gotP {
		v.peers, _ = v.c.h.eng.Peers(v.t.ID)
		v.gotP = true
	}
	return v.peers
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// finite keeps NaN and infinities out of JSON.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// fileName is a file's name as Transmission shows it: with the torrent's
// name (its folder) in front.
func fileName(t engine.Torrent, f engine.File) string {
	if f.Path == "" {
		return t.Name
	}
	return t.Name + "/" + f.Path
}

// trackers are the announce URLs of a torrent, from its magnet link.
func trackers(t engine.Torrent) []string {
	_, q, ok := strings.Cut(t.Magnet, "?")
	if !ok {
		return nil
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return nil
	}
	return v["tr"]
}

func scrapeURL(announce string) string {
	u, err := url.Parse(announce)
	if err != nil {
		return ""
	}
	dir, last := path.Split(u.Path)
	if !strings.HasPrefix(last, "announce") {
		return ""
	}
	u.Path = dir + "scrape" + strings.TrimPrefix(last, "announce")
	return u.String()
}

func siteName(announce string) string {
	u, err := url.Parse(announce)
	if err != nil {
		return ""
	}
	labels := strings.Split(u.Hostname(), ".")
	if len(labels) >= 2 {
		return labels[len(labels)-2]
	}
	return u.Hostname()
}

func trackerHost(announce string) string {
	u, err := url.Parse(announce)
	if err != nil {
		return announce
	}
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return u.Scheme + "://" + u.Hostname() + ":" + port
}

// seedRatio returns Transmission's ratio mode (0 global, 1 own, 2 none)
// and the limit in force.
func (v *tview) seedRatio() (mode int, limit float64) {
	r := v.t.Options.SeedRatio
	switch {
	case r < 0:
		return 0, v.c.h.eng.Settings().SeedRatio
	case r == 0:
		return 2, v.c.h.eng.Settings().SeedRatio
	}
	return 1, r
}

func (v *tview) seedIdle() (mode int, minutes int64) {
	d := v.t.Options.SeedIdle
	switch {
	case d < 0:
		return 0, int64(v.c.h.eng.Settings().SeedIdle / time.Minute)
	case d == 0:
		return 2, int64(v.c.h.eng.Settings().SeedIdle / time.Minute)
	}
	return 1, int64(d / time.Minute)
}

// limit reports a per-torrent limit: the value and whether it is on. An
// off limit shows the value a client last set for it, as Transmission does.
func (v *tview) limit(kbps int, key string) (int64, bool) {
	if kbps > 0 {
		return int64(kbps), true
	}
	r, _ := v.c.h.recall(torrentKey(v.t.ID, key))
	return r, false
}

func torrentKey(id int64, key string) string { return strconv.FormatInt(id, 10) + "/" + key }

// torrentFields are torrent-get's fields by classic name.
var torrentFields = map[string]func(v *tview) any{
	"activityDate":      func(v *tview) any { return unix(v.t.LastActivity) },
	"addedDate":         func(v *tview) any { return unix(v.t.AddedAt) },
	"bandwidthPriority": func(v *tview) any { return 0 },
	"comment":           func(v *tview) any { return "" },
	"corruptEver":       func(v *tview) any { return 0 },
	"creator":           func(v *tview) any { return "" },
	"dateCreated":       func(v *tview) any { return 0 },
	"desiredAvailable": func(v *tview) any {
		// What connected peers have of what we still want: everything when a
		// seed is connected; otherwise unknown, reported as nothing.
		if v.t.Seeds > 0 {
			return v.t.WantedSize - v.t.Done
		}
		return 0
	},
	"doneDate":        func(v *tview) any { return unix(v.t.DoneAt) },
	"downloadDir":     func(v *tview) any { return v.t.Dir },
	"downloadedEver":  func(v *tview) any { return v.t.Downloaded },
	"downloadLimit":   func(v *tview) any { n, _ := v.limit(v.t.Options.DownloadKBps, "downloadLimit"); return n },
	"downloadLimited": func(v *tview) any { return v.t.Options.DownloadKBps > 0 },
	"editDate":        func(v *tview) any { return unix(v.t.EditedAt) },
	"error": func(v *tview) any {
		if v.t.Error != "" {
			return 3 // TR_STAT_LOCAL_ERROR
		}
		return 0
	},
	"errorString": func(v *tview) any { return v.t.Error },
	"eta": func(v *tview) any {
		if v.t.HasMetadata && v.t.Done >= v.t.WantedSize {
			return -1 // done: Transmission's "not available"
		}
		return v.t.ETA
	},
	"etaIdle":    func(v *tview) any { return -1 },
	"file-count": func(v *tview) any { return len(v.withFiles().Files) },
	"files": func(v *tview) any {
		t := v.withFiles()
		out := make([]any, 0, len(t.Files))
		for _, f := range t.Files {
			out = append(out, map[string]any{"bytesCompleted": f.Done, "length": f.Size, "name": fileName(t, f)})
		}
		return out
	},
	"fileStats": func(v *tview) any {
		t := v.withFiles()
		out := make([]any, 0, len(t.Files))
		for _, f := range t.Files {
			out = append(out, map[string]any{"bytesCompleted": f.Done, "wanted": f.Wanted, "priority": int(f.Priority)})
		}
		return out
	},
	"group":      func(v *tview) any { return "" },
	"hashString": func(v *tview) any { return v.t.InfoHash },
	"haveUnchecked": func(v *tview) any {
		return 0 // the engine counts verified data only
	},
	"haveValid": func(v *tview) any {
		var n int64
		for _, f := range v.withFiles().Files {
			n += f.Done
		}
		return n
	},
	"honorsSessionLimits":     func(v *tview) any { return true },
	"id":                      func(v *tview) any { return v.t.ID },
	"isFinished":              func(v *tview) any { return v.t.Finished },
	"isPrivate":               func(v *tview) any { return v.t.Private },
	"isStalled":               func(v *tview) any { return false },
	"labels":                  func(v *tview) any { return append([]string{}, v.t.Labels...) },
	"leftUntilDone":           func(v *tview) any { return max(0, v.t.WantedSize-v.t.Done) },
	"magnetLink":              func(v *tview) any { return v.t.Magnet },
	"manualAnnounceTime":      func(v *tview) any { return 0 },
	"maxConnectedPeers":       func(v *tview) any { return v.c.h.cfg.Torrent.ConnsPerTorrent },
	"metadataPercentComplete": func(v *tview) any { return boolNum(v.t.HasMetadata) },
	"name":                    func(v *tview) any { return v.t.Name },
	"peer-limit":              func(v *tview) any { return v.c.h.cfg.Torrent.ConnsPerTorrent },
	"peers": func(v *tview) any {
		out := make([]any, 0)
		for _, p := range v.peerList() {
			out = append(out, peerObject(p))
		}
		return out
	},
	"peersConnected": func(v *tview) any { return v.t.Peers },
	"peersFrom": func(v *tview) any {
		from := map[string]any{"fromCache": 0, "fromDht": 0, "fromIncoming": 0, "fromLpd": 0, "fromLtep": 0, "fromPex": 0, "fromTracker": 0}
		keys := map[string]string{"tracker": "fromTracker", "dht": "fromDht", "pex": "fromPex", "incoming": "fromIncoming"}
		for _, p := range v.peerList() {
			if k, ok := keys[p.Source]; ok {
				from[k] = from[k].(int) + 1
			}
		}
		return from
	},
	"peersGettingFromUs": func(v *tview) any { return v.t.PeersReceiving },
	"peersSendingToUs":   func(v *tview) any { return v.t.PeersSending },
	"percentComplete": func(v *tview) any {
		if v.t.Size <= 0 {
			return 0
		}
		var n int64
		for _, f := range v.withFiles().Files {
			n += f.Done
		}
		return finite(float64(n) / float64(v.t.Size))
	},
	"percentDone": func(v *tview) any { return finite(v.t.Progress) },
	"pieces": func(v *tview) any {
		bm, _ := v.c.h.eng.Pieces(v.t.ID)
		b := make([]byte, (len(bm)+7)/8)
		for i, ok := range bm {
			if ok {
				b[i/8] |= 0x80 >> (i % 8)
			}
		}
		return base64.StdEncoding.EncodeToString(b)
	},
	"pieceCount": func(v *tview) any { return v.t.PieceCount },
	"pieceSize":  func(v *tview) any { return v.t.PieceSize },
	"priorities": func(v *tview) any {
		t := v.withFiles()
		out := make([]int, 0, len(t.Files))
		for _, f := range t.Files {
			out = append(out, int(f.Priority))
		}
		return out
	},
	"primary-mime-type": func(v *tview) any {
		var biggest engine.File
		t := v.withFiles()
		for _, f := range t.Files {
			if f.Size > biggest.Size {
				biggest = f
			}
		}
		if m := mime.TypeByExtension(path.Ext(fileName(t, biggest))); m != "" {
			m, _, _ = strings.Cut(m, ";")
			return m
		}
		return "application/octet-stream"
	},
	"queuePosition": func(v *tview) any { return v.t.QueuePos },
	"rateDownload":  func(v *tview) any { return v.t.DownRate },
	"rateUpload":    func(v *tview) any { return v.t.UpRate },
	"recheckProgress": func(v *tview) any {
		if v.t.State != engine.StateChecking || v.t.PieceCount == 0 {
			return 0
		}
		return finite(float64(v.t.PiecesDone) / float64(v.t.PieceCount))
	},
	"secondsDownloading":  func(v *tview) any { return 0 },
	"secondsSeeding":      func(v *tview) any { return 0 },
	"seedIdleLimit":       func(v *tview) any { _, m := v.seedIdle(); return m },
	"seedIdleMode":        func(v *tview) any { m, _ := v.seedIdle(); return m },
	"seedRatioLimit":      func(v *tview) any { _, l := v.seedRatio(); return l },
	"seedRatioMode":       func(v *tview) any { m, _ := v.seedRatio(); return m },
	"sequentialDownload":  func(v *tview) any { return false },
	"sizeWhenDone":        func(v *tview) any { return v.t.WantedSize },
	"startDate":           func(v *tview) any { return unix(v.t.StartedAt) },
	"status":              func(v *tview) any { return status(v.t.State) },
	"torrentFile":         func(v *tview) any { return "" },
	"totalSize":           func(v *tview) any { return v.t.Size },
	"uploadedEver":        func(v *tview) any { return v.t.Uploaded },
	"uploadLimit":         func(v *tview) any { n, _ := v.limit(v.t.Options.UploadKBps, "uploadLimit"); return n },
	"uploadLimited":       func(v *tview) any { return v.t.Options.UploadKBps > 0 },
	"uploadRatio":         func(v *tview) any { return uploadRatio(v.t) },
	"webseeds":            func(v *tview) any { return []string{} },
	"webseedsSendingToUs": func(v *tview) any { return 0 },
	"wanted": func(v *tview) any {
		t := v.withFiles()
		out := make([]int, 0, len(t.Files))
		for _, f := range t.Files {
			out = append(out, boolNum(f.Wanted))
		}
		return out
	},
	"trackers": func(v *tview) any {
		out := make([]any, 0)
		for i, a := range trackers(v.t) {
			out = append(out, map[string]any{"announce": a, "id": i, "scrape": scrapeURL(a), "sitename": siteName(a), "tier": i})
		}
		return out
	},
	"trackerList": func(v *tview) any { return strings.Join(trackers(v.t), "\n\n") },
	"trackerStats": func(v *tview) any {
		// The engine does not expose announce results: the static part is
		// real, the rest says "nothing known".
		out := make([]any, 0)
		for i, a := range trackers(v.t) {
			out = append(out, map[string]any{
				"announce": a, "announceState": 0, "downloadCount": -1, "hasAnnounced": false, "hasScraped": false,
				"host": trackerHost(a), "id": i, "isBackup": false, "lastAnnouncePeerCount": 0, "lastAnnounceResult": "",
				"lastAnnounceStartTime": 0, "lastAnnounceSucceeded": false, "lastAnnounceTime": 0, "lastAnnounceTimedOut": false,
				"lastScrapeResult": "", "lastScrapeStartTime": 0, "lastScrapeSucceeded": false, "lastScrapeTime": 0,
				"lastScrapeTimedOut": false, "leecherCount": -1, "nextAnnounceTime": 0, "nextScrapeTime": 0,
				"scrape": scrapeURL(a), "scrapeState": 0, "seederCount": -1, "sitename": siteName(a), "tier": i,
			})
		}
		return out
	},
}

// uploadRatio is Transmission's: -1 when nothing was transferred.
func uploadRatio(t engine.Torrent) float64 {
	if t.Downloaded == 0 && t.Uploaded == 0 && t.Done == 0 {
		return -1
	}
	return finite(t.Ratio)
}

func boolNum(b bool) int {
	if b {
		return 1
	}
	return 0
}

func peerObject(p engine.Peer) map[string]any {
	host, port := p.Addr, 0
	if i := strings.LastIndexByte(p.Addr, ':'); i >= 0 {
		host = strings.Trim(p.Addr[:i], "[]")
		port, _ = strconv.Atoi(p.Addr[i+1:])
	}
	var flags strings.Builder
	if p.DownRate > 0 {
		flags.WriteByte('D')
	}
	if p.UpRate > 0 {
		flags.WriteByte('U')
	}
	switch p.Source {
	case "incoming":
		flags.WriteByte('I')
	case "pex":
		flags.WriteByte('X')
	case "dht":
		flags.WriteByte('H')
	}
	if p.UTP {
		flags.WriteByte('T')
	}
	return map[string]any{
		"address": host, "port": port, "clientName": p.Client, "flagStr": flags.String(),
		"progress": finite(p.Progress), "rateToClient": p.DownRate, "rateToPeer": p.UpRate,
		"isDownloadingFrom": p.DownRate > 0, "isUploadingTo": p.UpRate > 0, "isIncoming": p.Source == "incoming",
		"isUTP": p.UTP, "isEncrypted": false, "clientIsChoked": false, "clientIsInterested": false,
		"peerIsChoked": false, "peerIsInterested": false,
	}
}

// fieldName maps a requested field (classic or snake_case) to its classic name.
var fieldName = func() map[string]string {
	m := map[string]string{}
	for k := range torrentFields {
		m[k] = k
		m[snakeName(k)] = k
	}
	return m
}()

// maxSmallGet is the most ids a torrent-get may name and not wait for a
// list slot (Options.ListLimiter): clients poll a few torrents often, and
// such answers are small. "recently-active" waits: on a box seeding 1,000
// torrents it names all of them.
const maxSmallGet = 50

func torrentGet(c *call) (map[string]any, error) {
	if err := c.allow("ids", "fields", "format"); err != nil {
		return nil, err
	}
	fields, ok, err := c.strs("fields")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errorf("torrent-get needs \"fields\", the list of fields to return")
	}
	format, _, err := c.str("format")
	if err != nil {
		return nil, err
	}
	if format != "" && format != "objects" && format != "table" {
		return nil, errorf("format %q: want objects or table", clip(format))
	}
	sel, err := c.ids()
	if err != nil {
		return nil, err
	}
	if sel.all || sel.recent || len(sel.ids)+len(sel.hashes) > maxSmallGet {
		release, err := c.h.acquireList(c.ctx)
		if err != nil {
			return nil, &rpcErr{code: codeServer, msg: "request cancelled while waiting to build the list"}
		}
		defer release()
	}
	list, err := c.torrents(sel, false)
	if err != nil {
		return nil, err
	}
	// Known fields in the order asked, once each; unknown names are
	// skipped as Transmission does (clients ask for newer fields).
	var names []string
	seen := map[string]bool{}
	for _, f := range fields {
		if n, ok := fieldName[f]; ok && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	out := map[string]any{"torrents": &torrentRows{c: c, list: list, names: names, table: format == "table"}}
	if sel.recent {
		removed := c.h.eng.Removed(time.Now().Add(-recentWindow))
		if removed == nil {
			removed = []int64{}
		}
		out["removed"] = removed
	}
	return out, nil
}
