package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/library"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/access"
	"github.com/hearth-media/hearth/web/connlimit"
	"github.com/hearth-media/hearth/web/transmission"
)

func cmdServe() *command {
	return &command{
		name:  "serve",
		args:  "[flags]",
		short: "run the daemon: the BitTorrent engine and the web API",
		long: `
Run the Hearth daemon in the foreground until SIGINT or SIGTERM. It keeps its
state (torrents, settings, piece completion) under DATA_DIR/state and saves
downloads to DATA_DIR/downloads unless torrent.download_dir says otherwise.

Configuration comes in layers, later ones winning: the device profile's
defaults, the config file (--config, $HEARTH_CONFIG, else DATA_DIR/hearth.conf
if it exists), settings saved through the API, HEARTH_* environment variables,
then these flags. "hearth config --local" shows the result without starting.
SIGHUP reloads: if the configuration still validates, the daemon restarts in
place (same PID, nothing re-hashed); if not, it logs why and keeps running.

It listens on every interface (:9091, Transmission's port) unless --listen
says otherwise. Callers on this device (loopback) are trusted; every other
caller needs the owner's password ("hearth passwd") or a token from pairing
("hearth pair", "hearth devices"). See docs/access.md.`,
		example: `
hearth serve
hearth serve --data-dir /srv/hearth --profile nas
HEARTH_LOG_LEVEL=debug hearth serve --listen 127.0.0.1:9092 --peer-port 6881
HEARTH_ACCESS_CLIENTS=192.168.1.0/24 hearth serve`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			sf := registerServeFlags(fs)
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("serve takes no arguments, got %q", args[0])
				}
				return serve(ctx, fs, sf, c.stderr)
			}
		},
	}
}

// serveFlag maps a serve flag to its config key.
type serveFlag struct {
	flag, key, env, usage string
}

var serveFlagTable = []serveFlag{
	{"data-dir", "data_dir", "HEARTH_DATA_DIR", "`DIR` for state and downloads"},
	{"listen", "listen", "HEARTH_LISTEN", "`HOST:PORT` of the web API (:9091 = every interface)"},
	{"peer-port", "torrent.peer_port", "HEARTH_PEER_PORT", "`PORT` for incoming peer connections (0 = any free port)"},
	{"profile", "profile", "HEARTH_PROFILE", "device `PROFILE`: " + strings.Join(config.Profiles(), ", ")},
	{"log-level", "log.level", "HEARTH_LOG_LEVEL", "`LEVEL`: debug, info, warn or error"},
}

// serveFlags are the flags of serve (and of "config --local").
type serveFlags struct {
	values map[string]*string // config key → flag value
	file   *string
}

func registerServeFlags(fs *flag.FlagSet) *serveFlags {
	sf := &serveFlags{values: map[string]*string{}}
	for _, f := range serveFlagTable {
		sf.values[f.key] = fs.String(f.flag, "", f.usage+" ($"+f.env+")")
	}
	sf.file = fs.String("config", "", "config `FILE` ($HEARTH_CONFIG; default DATA_DIR/"+config.FileName+" if it exists)")
	return sf
}

// loadOptions turns the flags given into config.Load's inputs.
func (sf *serveFlags) loadOptions(fs *flag.FlagSet) config.LoadOptions {
	set := flagsSet(fs)
	o := config.LoadOptions{
		File:      *sf.file,
		Env:       os.Environ(),
		Flags:     map[string]string{},
		FlagNames: map[string]string{},
	}
	if o.File == "" {
		o.File = getenv("HEARTH_CONFIG")
	}
	for _, f := range serveFlagTable {
		if set[f.flag] {
			o.Flags[f.key] = *sf.values[f.key]
			o.FlagNames[f.key] = "--" + f.flag
		}
	}
	return o
}

// newLogger builds the daemon's logger from the log section.
func newLogger(w io.Writer, c *config.Config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		level = slog.LevelInfo
	}
	o := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// serve runs the daemon until ctx is done.
func serve(ctx context.Context, fs *flag.FlagSet, sf *serveFlags, stderr io.Writer) error {
	ctx, closeSession := context.WithCancel(ctx) // the RPC's session-close stops the daemon too
	defer closeSession()
	lo := sf.loadOptions(fs)
	cfg, sources, err := config.Load(lo)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := newLogger(stderr, cfg)

	st, err := store.Open(store.Options{
		Dir:           filepath.Join(cfg.DataDir, "state"),
		Backend:       cfg.Store.Backend,
		MemTableMiB:   cfg.Store.MemTableMiB,
		ValueLogMiB:   cfg.Store.ValueLogMiB,
		BlockCacheMiB: cfg.Store.BlockCacheMiB,
		Logger:        log.With("component", "store"),
	})
	if err != nil {
		return fmt.Errorf("open state store: %w", err)
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close state store", "err", err)
		}
	}()
	// Settings saved through the API are one of the config's layers (over
	// the file, under the environment and flags); they live in the store,
	// so the config is loaded again with them.
	saved, err := engine.RuntimeSettings(st)
	if err != nil {
		return fmt.Errorf("read saved settings: %w", err)
	}
	if len(saved) > 0 {
		lo.Runtime = saved
		if cfg, sources, err = config.Load(lo); err != nil {
			return fmt.Errorf("config with saved settings: %w", err)
		}
		log = newLogger(stderr, cfg)
	}
	if cfg.Memory.LimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.Memory.LimitMiB) << 20)
	}
	// GOGC in the environment is an operator's explicit choice; the
	// profile's value is only a default.
	if cfg.Memory.GCPercent > 0 && os.Getenv("GOGC") == "" {
		debug.SetGCPercent(cfg.Memory.GCPercent)
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen for the API: %w", err)
	}
	ln = connlimit.Listen(ln, connlimit.Options{Total: maxConns, PerClient: maxConnsPerClient,
		Exempt: netip.Addr.IsLoopback, Logger: log.With("component", "http")})
	defer ln.Close()

	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Logger: log, ConfigureDHT: dhtConfig(cfg)})
	if err != nil {
		return fmt.Errorf("start engine: %w", err)
	}
	defer func() {
		if err := eng.Close(); err != nil {
			log.Error("close engine", "err", err)
		}
	}()

	lp := &lanPresence{log: log}
	// Live updates for the web UI (GET /api/v1/events): pairing, channel
	// and library changes are told to it; it polls the engine itself.
	var ac *access.Controller
	events := web.NewEvents(web.EventsOptions{Source: eng, Logger: log,
		Pairing: func() []access.PairRequest { return ac.PendingPairings() }})
	ac, err = access.New(access.Options{Store: st, Logger: log, Pairing: cfg.Access.Pairing,
		OnEvent: func(e access.Event) { lp.accessEvent(e); events.AccessEvent(e) }})
	if err != nil {
		return fmt.Errorf("load access state: %w", err)
	}
	// mDNS and the channels' LAN path; goodbye packets on the way out.
	if err := lp.start(ctx, lanStart{cfg: cfg, st: st, addr: ln.Addr(), version: versionInfo().Version, ac: ac,
		peerPort: func() int { return eng.Stats().PeerPort }, swarm: eng}); err != nil {
		return err
	}
	defer lp.close()
	// Channels (engine/channel) over the DHT and the LAN source; stopped
	// before the LAN source and the engine.
	chm, stopChannels, err := startChannels(ctx, cfg, st, eng, lp.channelLAN(),
		func() { lp.heldChanged(); events.Notify(web.EventChannels) }, log)
	if err != nil {
		return err
	}
	defer stopChannels()
	lp.setHolder(chm)
	clients, err := access.ParseClients(cfg.Access.Clients)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	hostname, _ := os.Hostname()
	thumbs, err := newThumbs(cfg, log)
	if err != nil {
		return err
	}
	shares, sharePages, err := startShares(st, eng, chm, thumbs, log)
	if err != nil {
		return err
	}
	// Outside links (share.outside): a share-pages-only port the router forwards.
	outsideState, stopOutside, err := startOutside(ctx, cfg, sharePages, log)
	if err != nil {
		return err
	}
	defer stopOutside()

	// The media library (engine/library): indexed in the background.
	lib, err := library.New(library.Options{Store: st, Source: eng, Logger: log,
		OnChange: func() { events.Notify(web.EventLibrary) }})
	if err != nil {
		return err
	}
	libCtx, stopLib := context.WithCancel(ctx)
	libDone := make(chan struct{})
	go func() { defer close(libDone); _ = lib.Serve(libCtx) }()
	defer func() { stopLib(); <-libDone }()

	streamKey, err := web.StreamKey(st)
	if err != nil {
		return err
	}
	vi := versionInfo()
	// One bound on full torrent lists for the API and the RPC together.
	lists := web.NewListLimiter(0)
	rpc := transmission.NewHandler(transmission.Options{Engine: eng, Logger: log, Config: cfg, Version: vi.Version, Shutdown: closeSession, Channels: chm,
		ListLimiter: lists.Acquire})
	h := web.NewHandler(web.Options{
		Transmission:  rpc,
		ListLimiter:   lists,
		Engine:        eng,
		Channels:      chm,
		Library:       lib,
		Logger:        log,
		Version:       vi,
		Config:        liveConfig(cfg, sources, eng),
		Access:        ac,
		TrustLoopback: cfg.Access.TrustLoopback,
		Clients:       clients,
		AllowedHosts:  append(web.DeviceHostNames(hostname), cfg.Access.AllowedHosts...),
		LAN:           lp.handler(),
		Shares:        shares,
		SharePages:    sharePages,
		ShareMail:     shareMailer(cfg),
		ShareOutside:  outsideState,
		Events:        events,
		Thumbs:        thumbs,
		StreamKey:     streamKey,
	})
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 16 MiB .torrent upload over a slow link
		WriteTimeout:      2 * time.Minute, // adding a URL waits for its fetch (30 s)
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelDebug),
	}
	// The box's button and LEDs (gpio section); off without pins or GPIO.
	gp, err := startGPIO(ctx, cfg, eng, ac, st, log)
	if err != nil {
		return err
	}
	defer gp.close()
	log.Info("hearth started", "version", vi.Version, "commit", vi.Commit, "listen", ln.Addr().String(),
		"dataDir", cfg.DataDir, "store", st.Backend(), "profile", cfg.Profile, "peerPort", eng.Stats().PeerPort,
		"memLimitMiB", memLimitMiB(), "gcPercent", gcPercent())
	logAccess(log, ln.Addr(), cfg, ac)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if err := waitForStop(ctx, errc, log, func() error {
		c, _, err := config.Load(sf.loadOptions(fs))
		if err == nil {
			err = c.Validate()
		}
		return err
	}); err != nil {
		return err
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("stop API server", "err", err)
	}
	return nil
}

// Bounds on the HTTP connections open at once (web/connlimit): each holds
// a goroutine and buffers, about 10 KiB idle (BenchmarkIdleConnMemory). A
// household's phones, TVs and browser tabs (6 connections per page, one
// event stream each) use a few dozen; a stranger on the LAN opening
// connections without end would otherwise take the device's memory. The
// device itself (loopback: its CLI) is held only to the total.
const (
	maxConns          = 256 // about 2.5 MiB if all idle
	maxConnsPerClient = 32  // an IPv4 address or an IPv6 /64
)

// logAccess says at start-up who can control the daemon and how.
func logAccess(log *slog.Logger, addr net.Addr, cfg *config.Config, ac *access.Controller) {
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsLoopback() {
		log.Info("access: API on loopback only; other machines cannot reach it", "trustLoopback", cfg.Access.TrustLoopback)
		return
	}
	st := ac.Status()
	var how string
	switch {
	case st.PasswordSet && st.Devices > 0:
		how = fmt.Sprintf("LAN callers need the password (user %s) or one of %d paired devices' tokens", st.User, st.Devices)
	case st.PasswordSet:
		how = fmt.Sprintf("LAN callers need the password (user %s) or pairing", st.User)
	case st.Devices > 0:
		how = fmt.Sprintf("LAN callers need one of %d paired devices' tokens; no password set (hearth passwd sets one)", st.Devices)
	default:
		how = "LAN callers need a password or pairing; no password set yet: run \"hearth passwd\" or pair a phone"
	}
	if !st.Pairing {
		how += "; pairing is off (access.pairing)"
	}
	log.Info("access: "+how, "trustLoopback", cfg.Access.TrustLoopback, "clients", strings.Join(cfg.Access.Clients, ","))
}

// liveConfig describes the configuration as the daemon uses it now: the
// startup config, with the runtime settings the engine holds (changed
// through the API since, or saved by an earlier run) where they differ.
func liveConfig(cfg *config.Config, sources config.Sources, eng *engine.Engine) func() []config.Entry {
	return func() []config.Entry {
		c, s := cfg.Clone(), config.Sources{}
		for k, v := range sources {
			s[k] = v
		}
		st := eng.Settings()
		defaultDir := ""
		if cfg.Torrent.DownloadDir == "" {
			defaultDir, _ = filepath.Abs(filepath.Join(cfg.DataDir, "downloads"))
		}
		for _, kv := range [][2]string{
			{"limits.download_kbps", strconv.Itoa(st.DownloadKBps)},
			{"limits.upload_kbps", strconv.Itoa(st.UploadKBps)},
			{"queue.max_downloads", strconv.Itoa(st.MaxDownloads)},
			{"queue.max_seeds", strconv.Itoa(st.MaxSeeds)},
			{"queue.seed_ratio", strconv.FormatFloat(st.SeedRatio, 'g', -1, 64)},
			{"queue.seed_idle", st.SeedIdle.String()},
			{"torrent.download_dir", st.DownloadDir},
			{"torrent.incomplete_dir", st.IncompleteDir},
			{"limits.alt_download_kbps", strconv.Itoa(st.AltDownloadKBps)},
			{"limits.alt_upload_kbps", strconv.Itoa(st.AltUploadKBps)},
			{"limits.alt_enabled", strconv.FormatBool(st.AltEnabled)},
			{"limits.alt_scheduled", strconv.FormatBool(st.AltScheduled)},
			{"limits.alt_begin", st.AltBegin},
			{"limits.alt_end", st.AltEnd},
			{"limits.alt_days", st.AltDays},
			{"torrent.peer_port", strconv.Itoa(st.PeerPort)}, // saved; a change applies after a restart
			{"torrent.encryption", st.Encryption},
		} {
			k, v := kv[0], kv[1]
			if k == "torrent.download_dir" && (v == "" || v == defaultDir) {
				continue
			}
			old, err := c.Get(k)
			if err != nil {
				continue
			}
			if err := c.Set(k, v); err != nil {
				continue
			}
			if now, _ := c.Get(k); now != old {
				s[k] = config.Source{Kind: config.SourceAPI, Detail: "saved setting"}
			}
		}
		return config.Describe(c, s)
	}
}

// memLimitMiB is the Go runtime's soft memory limit in effect (-1: none).
func memLimitMiB() int64 {
	s := []metrics.Sample{{Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[0].Value.Uint64() >= math.MaxInt64 {
		return -1
	}
	return int64(s[0].Value.Uint64() >> 20)
}

// gcPercent is the Go collector's GOGC in effect (-1: off).
func gcPercent() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int64(s[0].Value.Uint64())
}
