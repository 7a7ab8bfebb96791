// Package engine is Hearth's BitTorrent engine: a facade over
// anacrolix/torrent that adds durable state (torrents, settings and piece
// completion in Hearth's store), a queue, rate and seeding limits, and input
// validation that keeps bad links and torrents away from the library.
// It serves no HTTP and knows nothing of UI or hardware.
//
// Torrents that are stopped or waiting in the queue are not in the
// library's client at all: they cost no memory, connections or file
// handles. Starting one adds it back with its saved info dictionary and
// piece completion, so nothing already verified is hashed again.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/mse"
	"golang.org/x/time/rate"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine/completion"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// Options configure New.
type Options struct {
	Config *config.Config // required; see config.Default
	Store  store.Store    // required; the engine does not close it
	Logger *slog.Logger
	// ListenHost restricts the peer listener to one address (tests use
	// 127.0.0.1); empty listens on all interfaces.
	ListenHost string
	// DHTNodes, when set, replaces config's bootstrap nodes (tests run a
	// private DHT on loopback).
	DHTNodes []string
	// ConfigureDHT, when set, adjusts the DHT node's config after the
	// engine's own settings (mutable.ConfigureServer: a guarded BEP 44 item
	// store bounded by channels.dht_items) and before it starts. Unused
	// when the DHT is off.
	ConfigureDHT func(*dht.ServerConfig)
	// Now returns the current local time for the alternative-limits
	// schedule; nil means time.Now. Tests pass a fake clock.
	Now func() time.Time
}

// Engine is safe for concurrent use.
type Engine struct {
	cfg   *config.Config
	st    store.Store
	pc    *completion.Completion
	guard *storeGuard // keeps downloads from filling the store's file system (diskfull.go)
	log   *slog.Logger
	cl    *torrent.Client
	start time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	kickC  chan struct{}

	downLim *rate.Limiter
	upLim   *rate.Limiter

	now func() time.Time

	mu       sync.Mutex
	closed   bool
	byID     map[int64]*tor
	byHash   map[string]*tor
	settings Settings
	alt      altState
	removed  []removal  // recently removed torrents, oldest first
	total    TotalStats // totals of earlier runs (stats.go)
	// counters of torrents no longer active this session
	sessDown, sessUp int64
	// what removed torrents moved this session
	goneDown, goneUp int64
	downRate, upRate rateMeter
}

// tor is the engine's live view of one torrent. Fields are guarded by Engine.mu.
type tor struct {
	rec       record
	info      *metainfo.Info // nil until the metadata is known; without its piece hashes
	numPieces int            // of info
	// unsaved is the info dictionary while the store could not take it
	// (awaitInfo); nil once saved, as nearly always.
	unsaved []byte
	lim     *limits

	t         *torrent.Torrent // non-nil while active in the client
	actCancel context.CancelFunc
	baseDown  int64 // rec.Downloaded when activated
	baseUp    int64
	sessDown  int64 // what this activation moved, for session stats
	sessUp    int64
	checking  bool
	moving    bool // SetLocation or the incomplete-dir move owns its files
	startedAt time.Time
	downRate  rateMeter
	upRate    rateMeter
	peers     peerMeters // per-connection rates while active (peers.go)

	seq seqWindow // sequential mode's high-priority pieces (sequential.go)

	// Cached per-file verified bytes and complete-piece count while inactive.
	fileDone   []int64
	piecesDone int

	// lengths are the files' sizes, set with info: a list of every torrent
	// must not upvert every torrent's file list again (snapshot).
	lengths []int64
	// magnet is magnetOf(rec), made again only when the name or trackers
	// it was made of (magnetName, magnetTrackers: a copy) change.
	magnet         string
	magnetName     string
	magnetTrackers []string

	lastDiskCheck time.Time
	// unchecked counts pieces whose completion is not known yet: the
	// library hashes them when it opens a torrent (data already on disk).
	unchecked int
}

// New starts an engine and brings back every torrent saved in the store.
func New(opts Options) (*Engine, error) {
	if opts.Config == nil || opts.Store == nil {
		return nil, errors.New("engine: Config and Store are required")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	base := log
	log = log.With("component", "engine")
	cfg := opts.Config.Clone()
	if os.Getenv("TORRENT_STORAGE_DEFAULT_FILE_IO") != "classic" {
		log.Warn("file IO is mmap; set TORRENT_STORAGE_DEFAULT_FILE_IO=classic (hearth serve does) to keep RSS low and support 32-bit devices")
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:    cfg,
		st:     opts.Store,
		pc:     completion.New(opts.Store),
		log:    log,
		start:  time.Now(),
		ctx:    ctx,
		cancel: cancel,
		kickC:  make(chan struct{}, 1),
		byID:   make(map[int64]*tor),
		byHash: make(map[string]*tor),
		now:    opts.Now,
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.guard = newStoreGuard(cfg.DataDir, opts.Store.Backend(), cfg.Store, log)
	if err := e.loadSettings(); err != nil {
		cancel()
		return nil, err
	}
	cc, err := e.clientConfig(opts, base)
	if err != nil {
		cancel()
		return nil, err
	}
	if err := os.MkdirAll(e.settings.DownloadDir, 0o755); err != nil {
		cancel()
		return nil, fmt.Errorf("create download dir: %w", err)
	}
	cl, err := torrent.NewClient(cc)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("start torrent client on port %d: %w", cfg.Torrent.PeerPort, err)
	}
	e.cl = cl
	if err := e.restore(); err != nil {
		cl.Close()
		cancel()
		return nil, err
	}
	e.loadTotals()
	e.wg.Add(1)
	go e.loop()
	e.kick()
	return e, nil
}

// clientConfig turns Hearth's config into a tuned library config: the
// library's defaults are sized for desktops (see shared field notes).
func (e *Engine) clientConfig(opts Options, base *slog.Logger) (*torrent.ClientConfig, error) {
	c := e.cfg
	cc := torrent.NewDefaultClientConfig()
	cc.DataDir = e.settings.DownloadDir
	// Every torrent gets its own storage on activation; this default only
	// keeps the library from opening its own bolt completion file.
	cc.DefaultStorage = newTorrentStorage(e.ctx, e.settings.DownloadDir, e.pc, newLimits(), validateInfo)
	cc.ListenPort = c.Torrent.PeerPort
	if opts.ListenHost != "" {
		host := opts.ListenHost
		cc.ListenHost = func(string) string { return host }
	}
	cc.Seed = true
	cc.NoDHT = !c.Torrent.DHT
	nodes := c.Torrent.DHTBootstrap
	if opts.DHTNodes != nil {
		nodes = opts.DHTNodes
	}
	// Options.DHTNodes set but empty means no bootstrap at all (a test's
	// lone node), never the public routers.
	if len(nodes) > 0 || opts.DHTNodes != nil {
		nodes := append([]string(nil), nodes...)
		cc.DhtStartingNodes = func(network string) dht.StartingNodesGetter {
			return func() ([]dht.Addr, error) {
				var addrs []dht.Addr
				for _, n := range nodes {
					ua, err := net.ResolveUDPAddr(network, n)
					if err != nil {
						continue
					}
					addrs = append(addrs, dht.NewAddr(ua))
				}
				return addrs, nil
			}
		}
	}
	// Every DHT node gets the guarded, bounded item store: without it one
	// 23-byte "put" query with no arguments crashes the process (anacrolix
	// dht v2.23.0 dereferences nil in its read loop), stored items expire
	// on first read, and anyone can fill memory with puts.
	baseDHT := mutable.ConfigureServer(c.Channels.DHTItems, nil)
	cc.ConfigureAnacrolixDhtServer = func(sc *dht.ServerConfig) {
		baseDHT(sc)
		if opts.ConfigureDHT != nil {
			opts.ConfigureDHT(sc)
		}
	}
	cc.NoDefaultPortForwarding = !c.Torrent.PortForwarding
	cc.DisableUTP = !c.Torrent.UTP
	cc.DisableIPv6 = !c.Torrent.IPv6
	cc.DisableWebtorrent = true // WebRTC peers cost memory and goroutines a router cannot spare
	cc.EstablishedConnsPerTorrent = c.Torrent.ConnsPerTorrent
	cc.HalfOpenConnsPerTorrent = c.Torrent.HalfOpenPerTorrent
	cc.TotalHalfOpenConns = c.Torrent.HalfOpenTotal
	cc.TorrentPeersHighWater = c.Torrent.PeersHighWater
	cc.TorrentPeersLowWater = c.Torrent.PeersLowWater
	if c.Torrent.RequestBufferKiB > 0 {
		cc.MaxAllocPeerRequestDataPerConn = c.Torrent.RequestBufferKiB << 10
	}
	if c.Torrent.UnverifiedMiB > 0 {
		cc.MaxUnverifiedBytes = int64(c.Torrent.UnverifiedMiB) << 20
	}
	if c.Torrent.Hashers > 0 {
		cc.PieceHashersPerTorrent = c.Torrent.Hashers
	}
	switch c.Torrent.Encryption {
	case "require":
		cc.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: true, RequirePreferred: true}
		cc.CryptoProvides = mse.CryptoMethodRC4
	case "tolerate":
		cc.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: false}
	default: // prefer
		cc.HeaderObfuscationPolicy = torrent.HeaderObfuscationPolicy{Preferred: true}
	}
	// Explicit bursts: the library derives a zero burst from the limit,
	// which overflows for an unlimited limiter and makes a later SetLimit
	// panic in its rate-limited reader.
	down, up := e.settings.effectiveKBps()
	e.downLim = rate.NewLimiter(kbpsLimit(down), 256<<10)
	e.upLim = rate.NewLimiter(kbpsLimit(up), max(256<<10, cc.MaxAllocPeerRequestDataPerConn))
	cc.DownloadRateLimiter = e.downLim
	cc.UploadRateLimiter = e.upLim
	min := slog.LevelWarn
	if c.Log.Level == "debug" {
		min = slog.LevelInfo
	}
	cc.Slogger = slog.New(newQuietHandler(base.Handler(), min)).With("component", "torrent")
	return cc, nil
}

// restore brings saved torrents back.
func (e *Engine) restore() error {
	recs, err := loadRecords(e.st)
	if err != nil {
		return fmt.Errorf("load torrents: %w", err)
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].QueuePos < recs[j].QueuePos })
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, r := range recs {
		tr := &tor{rec: *r, lim: newLimits()}
		tr.rec.QueuePos = i
		tr.lim.set(r.Options.DownloadKBps, r.Options.UploadKBps)
		e.byID[tr.rec.ID] = tr
		e.byHash[tr.rec.InfoHash] = tr
	}
	// One info dictionary at a time, straight from the store: all of them
	// at once would be hundreds of MB for a library of films.
	if err := e.st.View(func(tx store.Reader) error {
		return tx.Scan([]byte(keyInfoPrefix), func(k, v []byte) error {
			if tr := e.byHash[string(k[len(keyInfoPrefix):])]; tr != nil {
				if err := tr.setInfo(v); err != nil {
					// Keep the torrent visible with the reason rather than silently dropping it.
					tr.rec.Error, tr.rec.ErrorKind = "saved metadata is unreadable: "+err.Error(), errKindFatal
				}
			}
			return nil
		})
	}); err != nil {
		return fmt.Errorf("load torrents' metadata: %w", err)
	}
	for _, tr := range e.byID {
		e.refreshDone(tr)
	}
	e.log.Info("restored torrents", "count", len(recs))
	return nil
}

const (
	errKindDiskFull = "disk-full"
	errKindIO       = "io"
	errKindFatal    = "fatal"
)

// setInfo parses and attaches an info dictionary. b is not kept (the
// store has it: savedInfo).
//
// The piece hashes are most of an info dictionary (20 bytes a piece: 80 KB
// for a 16 GB film in 4 MiB pieces), and only the library needs them,
// while the torrent is active: the engine drops them. A router that seeds
// 5 torrents at a time and keeps a library of hundreds would otherwise
// hold every film's hashes, tens of MB, all the time.
func (tr *tor) setInfo(b []byte) error {
	var info metainfo.Info
	if err := bencode.Unmarshal(b, &info); err != nil {
		return err
	}
	tr.numPieces = info.NumPieces()
	info.Pieces = nil
	tr.info = &info
	files := info.UpvertedFiles()
	n := len(files)
	tr.lengths = make([]int64, n)
	for i, f := range files {
		tr.lengths[i] = f.Length
	}
	if len(tr.rec.Wanted) != n {
		tr.rec.Wanted = make([]bool, n)
		tr.rec.Priority = make([]Priority, n)
		for i := range tr.rec.Wanted {
			tr.rec.Wanted[i] = !tr.rec.PickFiles
		}
		for _, i := range tr.rec.InitialFiles {
			if i >= 0 && i < n {
				tr.rec.Wanted[i] = true
			}
		}
	}
	if tr.rec.Name == "" || tr.rec.Name == tr.rec.InfoHash {
		tr.rec.Name = info.BestName()
	}
	return nil
}

// infoOf is the info dictionary of a torrent whose info is known (the
// engine keeps it parsed, without the piece hashes: setInfo): the one the
// store could not take yet, saved now if it can, else the store's. Called
// with e.mu held, when the torrent starts.
func (e *Engine) infoOf(tr *tor) ([]byte, error) {
	if u := tr.unsaved; u != nil {
		if err := e.st.Update(func(tx store.Txn) error { return tx.Set(infoKey(tr.rec.InfoHash), u) }); err == nil {
			tr.unsaved = nil
		}
		return u, nil
	}
	return e.savedInfo(tr.rec.InfoHash)
}

// savedInfo reads the info dictionary of torrent ih from the store.
func (e *Engine) savedInfo(ih string) ([]byte, error) {
	var b []byte
	err := e.st.View(func(tx store.Reader) error {
		var err error
		b, err = tx.Get(infoKey(ih))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read saved metadata: %w", err)
	}
	return b, nil
}

// refreshDone recomputes an inactive torrent's verified bytes from the
// saved piece completion.
func (e *Engine) refreshDone(tr *tor) {
	if tr.info == nil {
		tr.fileDone, tr.piecesDone = nil, 0
		return
	}
	ih := metainfo.NewHashFromHex(tr.rec.InfoHash)
	bm, err := e.pc.Bitmap(ih, tr.numPieces)
	if err != nil {
		e.log.Warn("read piece completion", "torrent", tr.rec.ID, "err", err)
		bm = make([]bool, tr.numPieces)
	}
	tr.fileDone, tr.piecesDone = fileDoneFromBitmap(tr.info, bm)
}

// fileDoneFromBitmap spreads complete pieces over the files they cover.
func fileDoneFromBitmap(info *metainfo.Info, bm []bool) ([]int64, int) {
	files := info.UpvertedFiles()
	done := make([]int64, len(files))
	pl := info.PieceLength
	total := info.TotalLength()
	n := 0
	fi := 0
	var fileStart int64
	for p, ok := range bm {
		if !ok {
			continue
		}
		n++
		ps := int64(p) * pl
		pe := min(ps+pl, total)
		for fi < len(files) && fileStart+files[fi].Length <= ps {
			fileStart += files[fi].Length
			fi++
		}
		off := fileStart
		for j := fi; j < len(files) && off < pe; j++ {
			fs, fe := off, off+files[j].Length
			if lo, hi := max(fs, ps), min(fe, pe); hi > lo {
				done[j] += hi - lo
			}
			off = fe
		}
	}
	return done, n
}

// Close stops all torrents and the peer listener. State is already durable;
// Close saves the transfer counters.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.cancel()
	e.wg.Wait()
	e.mu.Lock()
	for _, tr := range e.byID {
		if tr.t != nil {
			e.deactivate(tr)
		}
	}
	e.saveTotals(time.Now())
	e.mu.Unlock()
	e.cl.Close()
	<-e.cl.Closed()
	err := e.st.Sync()
	e.pc.Close()
	return err
}

func (e *Engine) kick() {
	select {
	case e.kickC <- struct{}{}:
	default:
	}
}

// loop runs the queue, limits and rate meters once a second, and at once
// when something asks (kick).
func (e *Engine) loop() {
	defer e.wg.Done()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	lastSave := last
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-tick.C:
		case <-e.kickC:
		}
		now := time.Now()
		dt := now.Sub(last).Seconds()
		measure := dt >= 0.9
		if measure {
			last = now
		}
		save := now.Sub(lastSave) >= 30*time.Second
		if save {
			lastSave = now
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			return
		}
		e.altTick(e.now())
		e.update(now, dt, measure, save)
		if save {
			e.saveTotals(now)
		}
		e.schedule(now)
		e.mu.Unlock()
	}
}

// update refreshes counters and completion of active torrents, and stops
// those that reached a seeding limit. Called with e.mu held.
func (e *Engine) update(now time.Time, dt float64, measure, save bool) {
	totDown, totUp := e.goneDown, e.goneUp
	for _, tr := range e.byID {
		if tr.t == nil {
			totDown += tr.sessDown
			totUp += tr.sessUp
			continue
		}
		e.sequential(tr)
		st := tr.t.Stats()
		down := st.BytesReadData.Int64()
		up := st.BytesWrittenData.Int64()
		totDown += tr.sessDown + down
		totUp += tr.sessUp + up
		if measure {
			tr.downRate.sample(down, dt)
			tr.upRate.sample(up, dt)
			tr.samplePeers(dt)
		}
		if tr.baseUp+up > tr.rec.Uploaded || tr.baseDown+down > tr.rec.Downloaded {
			tr.rec.LastActivity = now
		}
		tr.rec.Downloaded = tr.baseDown + down
		tr.rec.Uploaded = tr.baseUp + up
		if tr.info == nil || tr.checking {
			continue
		}
		changed := false
		if e.complete(tr) {
			if tr.rec.DoneAt.IsZero() {
				tr.rec.DoneAt = now
				changed = true
				e.log.Info("torrent finished", "torrent", tr.rec.ID, "name", tr.rec.Name)
			}
			if e.seedLimitReached(tr, now) {
				tr.rec.Finished = true
				changed = true
				e.log.Info("seeding limit reached", "torrent", tr.rec.ID, "ratio", ratio(tr.rec, e.wantedSize(tr)))
			}
			if tr.rec.IncompleteDir != "" && tr.unchecked == 0 {
				e.finishIncomplete(tr)
				continue
			}
		}
		if changed || save {
			e.persist(tr)
		}
	}
	if measure {
		e.downRate.sample(totDown, dt)
		e.upRate.sample(totUp, dt)
	}
	e.sessDown, e.sessUp = totDown, totUp
}

func ratio(r record, wanted int64) float64 {
	base := r.Downloaded
	if base <= 0 {
		base = wanted
	}
	if base <= 0 {
		return 0
	}
	return float64(r.Uploaded) / float64(base)
}

func (e *Engine) seedLimitReached(tr *tor, now time.Time) bool {
	lr := tr.rec.Options.SeedRatio
	if lr < 0 {
		lr = e.settings.SeedRatio
	}
	if lr > 0 && ratio(tr.rec, e.wantedSize(tr)) >= lr {
		return true
	}
	li := tr.rec.Options.SeedIdle
	if li < 0 {
		li = e.settings.SeedIdle
	}
	if li > 0 {
		since := tr.rec.LastActivity
		if tr.rec.DoneAt.After(since) {
			since = tr.rec.DoneAt
		}
		if since.IsZero() {
			return false
		}
		return now.Sub(since) >= li
	}
	return false
}

// schedule starts and stops torrents so the queue limits hold, in queue
// order. Called with e.mu held.
func (e *Engine) schedule(now time.Time) {
	list := e.ordered()
	downs, seeds := 0, 0
	for _, tr := range list {
		if tr.rec.ErrorKind == errKindDiskFull {
			e.retryDiskFull(tr, now)
		}
		want := e.runnable(tr)
		if !want {
			if tr.t != nil && !tr.checking {
				e.deactivate(tr)
			}
			continue
		}
		complete := tr.info != nil && e.complete(tr)
		allowed := tr.rec.Force || tr.checking
		if !allowed {
			if complete {
				allowed = e.settings.MaxSeeds <= 0 || seeds < e.settings.MaxSeeds
			} else {
				allowed = e.settings.MaxDownloads <= 0 || downs < e.settings.MaxDownloads
			}
		}
		if allowed {
			if complete {
				seeds++
			} else {
				downs++
			}
			if tr.t == nil {
				e.activate(tr)
			}
		} else if tr.t != nil {
			e.deactivate(tr)
		}
	}
}

// runnable says whether a torrent should be running if a slot is free.
func (e *Engine) runnable(tr *tor) bool {
	if tr.moving {
		return false
	}
	if tr.checking {
		return true
	}
	return !tr.rec.Paused && !tr.rec.Finished && tr.rec.Error == ""
}

// retryDiskFull clears a disk-full error once the torrent's folder has room
// for what is left to download (or 64 MiB, whichever is less), checking at
// most every diskRetryEvery.
func (e *Engine) retryDiskFull(tr *tor, now time.Time) {
	if now.Sub(tr.lastDiskCheck) < diskRetryEvery {
		return
	}
	tr.lastDiskCheck = now
	free, err := freeSpace(tr.dataDir())
	if err != nil {
		return
	}
	need := int64(64 << 20)
	if tr.info != nil {
		var left int64
		done := e.fileDone(tr)
		for i, f := range tr.info.UpvertedFiles() {
			if tr.rec.Wanted[i] {
				left += f.Length - done[i]
			}
		}
		need = min(need, left+1<<20)
	}
	need += e.guard.on(tr.dataDir())
	if free >= need {
		e.log.Info("disk space available again, resuming", "torrent", tr.rec.ID, "free", free)
		tr.rec.Error, tr.rec.ErrorKind = "", ""
		e.persist(tr)
	}
}

const diskRetryEvery = 5 * time.Second

// ordered returns torrents in queue order.
func (e *Engine) ordered() []*tor {
	list := make([]*tor, 0, len(e.byID))
	for _, tr := range e.byID {
		list = append(list, tr)
	}
	slices.SortFunc(list, queueOrder)
	return list
}

// queueOrder orders torrents by queue position, then id.
func queueOrder(a, b *tor) int {
	if c := cmp.Compare(a.rec.QueuePos, b.rec.QueuePos); c != 0 {
		return c
	}
	return cmp.Compare(a.rec.ID, b.rec.ID)
}

// complete reports whether every wanted file is verified.
func (e *Engine) complete(tr *tor) bool {
	if tr.info == nil {
		return false
	}
	done := e.fileDone(tr)
	files := tr.info.UpvertedFiles()
	for i, f := range files {
		if tr.rec.Wanted[i] && done[i] < f.Length {
			return false
		}
	}
	return true
}

// fileDone returns verified bytes per file. The library's
// File.BytesCompleted also counts downloaded chunks that are not yet
// hashed, so this works from complete pieces only.
func (e *Engine) fileDone(tr *tor) []int64 {
	done, _ := e.verified(tr)
	return done
}

// verified returns verified bytes per file and the number of complete pieces.
func (e *Engine) verified(tr *tor) ([]int64, int) {
	if tr.t == nil || tr.info == nil || tr.t.Info() == nil {
		return tr.fileDone, tr.piecesDone
	}
	bm := make([]bool, tr.numPieces)
	i := 0
	tr.unchecked = 0
	for _, run := range tr.t.PieceStateRuns() {
		if !run.Ok {
			tr.unchecked += run.Length
		}
		if run.Complete {
			for j := i; j < i+run.Length && j < len(bm); j++ {
				bm[j] = true
			}
		}
		i += run.Length
	}
	return fileDoneFromBitmap(tr.info, bm)
}

func (e *Engine) wantedSize(tr *tor) int64 {
	if tr.info == nil {
		return 0
	}
	var n int64
	for i, f := range tr.info.UpvertedFiles() {
		if tr.rec.Wanted[i] {
			n += f.Length
		}
	}
	return n
}

// activate adds a torrent to the client. Called with e.mu held.
func (e *Engine) activate(tr *tor) {
	e.placeIncomplete(tr)
	if err := os.MkdirAll(tr.dataDir(), 0o755); err != nil {
		e.setError(tr, fmt.Errorf("create download folder: %w", err))
		return
	}
	var infoBytes []byte // nil for a magnet still waiting for metadata
	if tr.info != nil {
		b, err := e.infoOf(tr)
		if err != nil {
			e.setError(tr, err)
			return
		}
		infoBytes = b
	}
	ctx, cancel := context.WithCancel(e.ctx)
	ts := e.storageFor(ctx, tr)
	ts.guard = e.guard.forDir(tr.dataDir())
	ih := metainfo.NewHashFromHex(tr.rec.InfoHash)
	t, _ := e.cl.AddTorrentOpt(torrent.AddTorrentOpts{
		InfoHash:  ih,
		Storage:   ts,
		InfoBytes: infoBytes,
	})
	tr.t, tr.actCancel = t, cancel
	tr.startedAt = time.Now().UTC()
	tr.baseDown, tr.baseUp = tr.rec.Downloaded, tr.rec.Uploaded
	tr.downRate, tr.upRate = rateMeter{}, rateMeter{}
	if tr.rec.Name != "" {
		t.SetDisplayName(tr.rec.Name)
	}
	if len(tr.rec.Trackers) > 0 {
		tiers := make([][]string, len(tr.rec.Trackers))
		for i, u := range tr.rec.Trackers {
			tiers[i] = []string{u}
		}
		t.AddTrackers(tiers)
	}
	e.applyWebSeeds(tr)
	id := tr.rec.ID
	t.SetOnWriteChunkError(func(err error) { e.onWriteError(id, t, err) })
	if tr.info != nil {
		e.applyPriorities(tr)
		e.sequential(tr)
	} else {
		e.wg.Add(1)
		go e.awaitInfo(ctx, id, t)
	}
	e.log.Debug("torrent started", "torrent", id, "name", tr.rec.Name)
}

// deactivate removes a torrent from the client, saving its counters.
// Called with e.mu held.
func (e *Engine) deactivate(tr *tor) {
	t := tr.t
	if t == nil {
		return
	}
	st := t.Stats()
	tr.rec.Downloaded = tr.baseDown + st.BytesReadData.Int64()
	tr.rec.Uploaded = tr.baseUp + st.BytesWrittenData.Int64()
	tr.sessDown += st.BytesReadData.Int64()
	tr.sessUp += st.BytesWrittenData.Int64()
	tr.actCancel()
	t.Drop()
	tr.t = nil
	tr.peers = peerMeters{}
	e.refreshDone(tr)
	e.persist(tr)
	e.log.Debug("torrent stopped", "torrent", tr.rec.ID)
}

// applyPriorities pushes wanted flags and priorities to the client.
func (e *Engine) applyPriorities(tr *tor) {
	if tr.t == nil || tr.t.Info() == nil {
		return
	}
	for i, f := range tr.t.Files() {
		if i >= len(tr.rec.Wanted) {
			break
		}
		p := torrent.PiecePriorityNone
		if tr.rec.Wanted[i] {
			p = torrent.PiecePriorityNormal
			if tr.rec.Priority[i] == PriorityHigh {
				p = torrent.PiecePriorityHigh
			}
		}
		f.SetPriority(p)
	}
}

// awaitInfo waits for a magnet's metadata, checks it, and saves it so a
// restart never has to fetch it again.
func (e *Engine) awaitInfo(ctx context.Context, id int64, t *torrent.Torrent) {
	defer e.wg.Done()
	select {
	case <-ctx.Done():
		return
	case <-t.GotInfo():
	}
	mi := t.Metainfo()
	b := []byte(mi.InfoBytes)
	e.mu.Lock()
	defer e.mu.Unlock()
	tr := e.byID[id]
	if tr == nil || tr.t != t {
		return
	}
	if _, err := validateInfoBytes(b); err != nil {
		e.setError(tr, fmt.Errorf("metadata from peers rejected: %w", err))
		return
	}
	if err := tr.setInfo(b); err != nil {
		e.setError(tr, fmt.Errorf("metadata from peers unreadable: %w", err))
		return
	}
	if err := e.st.Update(func(tx store.Txn) error {
		if err := tx.Set(infoKey(tr.rec.InfoHash), b); err != nil {
			return err
		}
		return putRecord(tx, &tr.rec)
	}); err != nil {
		// Kept in memory until a save succeeds (infoOf), so nothing is
		// fetched twice.
		tr.unsaved = b
		e.log.Error("save metadata", "torrent", id, "err", err)
	}
	e.applyPriorities(tr)
	e.log.Info("got metadata", "torrent", id, "name", tr.rec.Name)
	e.kick()
}

func (e *Engine) onWriteError(id int64, t *torrent.Torrent, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tr := e.byID[id]
	if tr == nil || tr.t != t {
		return
	}
	e.setError(tr, err)
}

// setError stops a torrent with an error. Called with e.mu held.
func (e *Engine) setError(tr *tor, err error) {
	msg, kind := err.Error(), errKindIO
	if isNoSpace(err) {
		msg, kind = "disk full: no space left in "+tr.dataDir(), errKindDiskFull
	}
	e.log.Error("torrent stopped by error", "torrent", tr.rec.ID, "err", err)
	tr.rec.Error, tr.rec.ErrorKind = msg, kind
	if tr.t != nil {
		e.deactivate(tr)
	} else {
		e.persist(tr)
	}
	e.kick()
}

// persist saves a torrent's record. Called with e.mu held.
func (e *Engine) persist(tr *tor) {
	if err := e.st.Update(func(tx store.Txn) error { return putRecord(tx, &tr.rec) }); err != nil {
		e.log.Error("save torrent", "torrent", tr.rec.ID, "err", err)
	}
}

// lookup finds a torrent by id. Called with e.mu held.
func (e *Engine) lookup(id int64) (*tor, error) {
	if e.closed {
		return nil, ErrClosed
	}
	tr := e.byID[id]
	if tr == nil {
		return nil, fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	return tr, nil
}

// Resolve turns a reference (numeric id or 40-hex infohash) into an id.
func (e *Engine) Resolve(ref string) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil && len(ref) < 20 {
		if _, ok := e.byID[id]; ok {
			return id, nil
		}
		return 0, fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	if len(ref) == 40 {
		var h metainfo.Hash
		if err := h.FromHexString(ref); err == nil {
			if tr := e.byHash[h.HexString()]; tr != nil {
				return tr.rec.ID, nil
			}
			return 0, fmt.Errorf("%w: infohash %s", ErrNotFound, h.HexString())
		}
	}
	return 0, inputErrorf("%q is not a torrent id or a 40-character infohash", ref)
}

func absDir(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	if !filepath.IsAbs(dir) {
		return "", inputErrorf("download folder %q must be an absolute path", dir)
	}
	return filepath.Clean(dir), nil
}

// DHT returns the engine's IPv4 DHT node, or nil when the DHT is off.
// Channels use it for BEP 44 gets and puts; it is closed with the engine.
func (e *Engine) DHT() *dht.Server {
	for _, s := range e.cl.DhtServers() {
		if w, ok := s.(torrent.AnacrolixDhtServerWrapper); ok {
			return w.Server
		}
	}
	return nil
}
