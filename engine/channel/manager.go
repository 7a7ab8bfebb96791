package channel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/dht/v2"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// Sentinels; user mistakes are *engine.InputError (the API's 400).
var (
	ErrNotFound = errors.New("channel: not found")
	ErrExists   = errors.New("channel: already exists")
	ErrNoDHT    = errors.New("channel: no DHT and no LAN source to publish or look up channels")
)

// Engine is what the manager needs of the torrent engine; *engine.Engine
// implements it.
type Engine interface {
	Add(ctx context.Context, req engine.AddRequest) (engine.Torrent, bool, error)
	Get(ref string) (engine.Torrent, error)
	Remove(id int64, deleteData bool) error
	SetOptions(id int64, p engine.OptionsPatch) error
	AddPeers(id int64, addrs []string) error
	FetchInfo(ctx context.Context, ih [20]byte, peers []string) ([]byte, error)
}

var _ Engine = (*engine.Engine)(nil)

// DHT gets and puts BEP 44 mutable items. Implementations check every
// item they return (ServerDHT does, through engine/mutable); the manager
// checks again. Safe for concurrent use.
type DHT interface {
	// Get returns the valid item of pub and salt with the highest seq ≥
	// minSeq, or an error wrapping mutable.ErrNotFound.
	Get(ctx context.Context, pub [32]byte, salt []byte, minSeq int64) (mutable.Item, error)
	// Put stores a signed item on the nodes closest to its target and
	// returns how many took it.
	Put(ctx context.Context, it mutable.Item) (int, error)
}

// ServerDHT is the DHT of a DHT node (engine.DHT()), through
// engine/mutable's checked traversals. A nil server gives a nil DHT.
func ServerDHT(s *dht.Server) DHT {
	if s == nil {
		return nil
	}
	return serverDHT{s}
}

type serverDHT struct{ s *dht.Server }

func (d serverDHT) Get(ctx context.Context, pub [32]byte, salt []byte, minSeq int64) (mutable.Item, error) {
	return mutable.Get(ctx, d.s, pub, salt, minSeq)
}

func (d serverDHT) Put(ctx context.Context, it mutable.Item) (int, error) {
	return mutable.Put(ctx, d.s, it)
}

// LAN is a source of channel items and peers on the local network (mDNS
// in the daemon): the fast path that works without the internet. Items
// it returns are checked like the DHT's. Safe for concurrent use.
type LAN interface {
	// Lookup returns signed items for the channel target (mutable.Target
	// of its key and salt) that devices on the LAN hold, and the
	// host:port peer addresses of devices that hold its data.
	Lookup(ctx context.Context, target [20]byte) (items []mutable.Item, peers []string, err error)
}

// Options configure New.
type Options struct {
	Engine Engine      // required
	Store  store.Store // required; keys under "ch/"
	// DHT carries items; nil when the DHT is off (then only LAN works).
	DHT    DHT
	LAN    LAN // optional
	Logger *slog.Logger
	// Dir holds the content of the channels this device publishes, one
	// folder per channel. Required.
	Dir string
	// DownloadDir returns the folder new subscriptions go under when the
	// subscriber names none (the engine's download folder). Required.
	DownloadDir func() string
	// PollInterval is how often a subscription looks for a new version
	// (±10 % jitter); failures retry sooner, backing off up to it.
	PollInterval time.Duration
	// Republish is how often the latest item of every channel, owned or
	// followed, is put into the DHT again.
	Republish time.Duration
	// PublishDelay is how long after the last change a channel publishes
	// itself (a user adding 200 photos one by one makes one version).
	// Negative: never publish automatically.
	PublishDelay time.Duration
	// PieceLength of new channels; 0 = DefaultPieceLength. A power of
	// two of at least 16 KiB.
	PieceLength int64
	// KeepRemoved is the default of new subscriptions: keep the files the
	// publisher removed.
	KeepRemoved bool
	// LookupTimeout bounds one DHT or LAN lookup; FetchTimeout one fetch
	// of a version's metadata. Zero: 30 s and 3 min.
	LookupTimeout time.Duration
	FetchTimeout  time.Duration
	// OnChange, if set, is called after what Held returns may have
	// changed: a publish, a subscription's new item (found by a check or
	// offered), a subscription added or removed, a published channel
	// deleted. The daemon points it at the LAN source's HeldChanged, so a
	// new version is advertised at once rather than at the source's next
	// read of Held. It must not block; it is called without the manager's
	// locks, so it may call Held.
	OnChange func()
	// OnStatus, if set, is called when subscriptions' statuses stepped
	// on their own: a state change (fetching, downloading, synced, error;
	// not looking, which every check passes through) or a new-items
	// count, seen by Serve once a second and coalesced — byte progress
	// is no step. Nil: OnChange is called instead, so one hook tells a
	// UI of both. Same rules as OnChange.
	OnStatus func()
	// WebSeeds, if set, returns BEP 19 web seed URLs (url-list bases)
	// for the torrent of version seq of the channel with this public key
	// (64 hex digits), on the publishing device and on subscribers alike.
	// They go into the .torrent the manager gives the engine, which then
	// downloads from them besides peers (the daemon points it at the web
	// seeds of a share of the channel). Called without the manager's
	// locks; it must not block.
	WebSeeds func(publicKey string, seq int64) []string
}

// Manager publishes and follows channels. It is safe for concurrent use;
// Serve runs its timers.
type Manager struct {
	o   Options
	log *slog.Logger

	mu   sync.Mutex
	own  map[string]*ownRec // by name
	subs map[string]*subRec // by id (target hex)
	next map[string]time.Time
	ops  map[string]*sync.Mutex // one operation at a time per channel or subscription
	// running are the tasks under way; one task runs once at a time.
	running map[string]bool
	state   map[string]string    // what a subscription is doing now
	putAt   map[string]time.Time // last successful re-put of a subscription's item
	kickC   chan struct{}
	sem     chan struct{} // bounds background operations
	wg      sync.WaitGroup

	// offers are the peers offered with a subscription's latest version
	// (Offer), for its install; by id; under mu.
	offers map[string]*offer
	// noPeerWait is defaultNoPeerWait; tests make it longer.
	noPeerWait time.Duration
}

// New loads the channels and subscriptions saved in the store.
func New(o Options) (*Manager, error) {
	if o.Engine == nil || o.Store == nil || o.Dir == "" || o.DownloadDir == nil {
		return nil, errors.New("channel: Engine, Store, Dir and DownloadDir are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 15 * time.Minute
	}
	if o.Republish <= 0 {
		o.Republish = time.Hour
	}
	if o.PublishDelay == 0 {
		o.PublishDelay = 30 * time.Second
	}
	if o.PieceLength == 0 {
		o.PieceLength = DefaultPieceLength
	}
	if o.PieceLength < 16<<10 || o.PieceLength > maxPieceLength || o.PieceLength&(o.PieceLength-1) != 0 {
		return nil, fmt.Errorf("channel: piece length %d is not a power of two from 16 KiB to 16 MiB", o.PieceLength)
	}
	if o.LookupTimeout <= 0 {
		o.LookupTimeout = 30 * time.Second
	}
	if o.FetchTimeout <= 0 {
		o.FetchTimeout = 3 * time.Minute
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("channel dir %s: %w", o.Dir, err)
	}
	o.Dir = dir
	m := &Manager{
		o:       o,
		log:     o.Logger.With("component", "channels"),
		own:     map[string]*ownRec{},
		subs:    map[string]*subRec{},
		next:    map[string]time.Time{},
		ops:     map[string]*sync.Mutex{},
		running: map[string]bool{},
		state:   map[string]string{},
		putAt:   map[string]time.Time{},
		kickC:   make(chan struct{}, 1),
		sem:     make(chan struct{}, 4),

		offers:     map[string]*offer{},
		noPeerWait: defaultNoPeerWait,
	}
	owns, err := loadAll[ownRec](o.Store, ownPrefix)
	if err != nil {
		return nil, fmt.Errorf("load channels: %w", err)
	}
	subs, err := loadAll[subRec](o.Store, subPrefix)
	if err != nil {
		return nil, fmt.Errorf("load subscriptions: %w", err)
	}
	now := time.Now()
	for _, r := range owns {
		m.own[r.Name] = r
		if r.Item != nil {
			m.next[putTask(ownKey(r.Name))] = now.Add(jitter(5 * time.Second))
		}
	}
	for _, r := range subs {
		id := subID(r.target())
		m.subs[id] = r
		m.next[pollTask(id)] = now.Add(jitter(min(5*time.Second, o.PollInterval)))
		if r.Item != nil {
			m.next[putTask(subKey(id))] = now.Add(jitter(o.Republish / 4))
		}
	}
	m.log.Info("channels loaded", "channels", len(owns), "subscriptions", len(subs), "dht", o.DHT != nil, "lan", o.LAN != nil)
	return m, nil
}

// Task keys of the scheduler.
func ownKey(name string) string { return "own/" + name }
func subKey(id string) string   { return "sub/" + id }
func putTask(key string) string { return "put " + key }
func pollTask(id string) string { return "poll " + id }
func publishTask(name string) string {
	return "publish " + name
}

func subID(target [20]byte) string { return fmt.Sprintf("%x", target) }

// jitter returns d ± 10 %.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// lock serializes the operations on one channel or subscription.
func (m *Manager) lock(key string) func() {
	m.mu.Lock()
	l := m.ops[key]
	if l == nil {
		l = new(sync.Mutex)
		m.ops[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (m *Manager) kick() {
	select {
	case m.kickC <- struct{}{}:
	default:
	}
}

// schedule makes a task run at the latest at at: an earlier request
// stands (a "check now" made while the task ran is not pushed back by
// the task planning its next run). Called with m.mu held.
func (m *Manager) schedule(task string, at time.Time) {
	if cur, ok := m.next[task]; ok && cur.Before(at) {
		return
	}
	m.next[task] = at
}

// Serve runs polls, republishing and automatic publishing until ctx ends,
// then waits for the operations it started.
func (m *Manager) Serve(ctx context.Context) error {
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	defer m.wg.Wait()
	var watch subWatch
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-m.kickC:
		}
		m.runDue(ctx)
		watch.check(m, time.Now())
	}
}

// runDue starts the tasks whose time has come, at most cap(m.sem) at once.
func (m *Manager) runDue(ctx context.Context) {
	now := time.Now()
	m.mu.Lock()
	var due []string
	for task, at := range m.next {
		// A task still running keeps its request for after it ends.
		if !at.After(now) && !m.running[task] {
			due = append(due, task)
		}
	}
	m.mu.Unlock()
	for _, task := range due {
		select {
		case m.sem <- struct{}{}:
		default:
			return // busy: the rest waits for the next tick
		}
		m.mu.Lock()
		delete(m.next, task)
		m.running[task] = true
		m.mu.Unlock()
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			defer func() { <-m.sem }()
			defer func() {
				m.mu.Lock()
				delete(m.running, task)
				m.mu.Unlock()
			}()
			m.runTask(ctx, task)
		}()
	}
}

func (m *Manager) runTask(ctx context.Context, task string) {
	kind, key, _ := strings.Cut(task, " ")
	switch kind {
	case "publish":
		if _, err := m.Publish(ctx, key); err != nil && ctx.Err() == nil {
			m.log.Warn("automatic publish", "channel", key, "err", err)
		}
	case "poll":
		m.poll(ctx, key)
	case "put":
		what, name, _ := strings.Cut(key, "/")
		if what == "own" {
			m.putOwn(ctx, name)
		} else {
			m.putSub(ctx, name)
		}
	}
}

// notify calls Options.OnChange. Never with m.mu held.
func (m *Manager) notify() {
	if m.o.OnChange != nil {
		m.o.OnChange()
	}
}

// Held returns the latest signed item of every channel this device
// publishes or follows, for a LAN source to hand to its neighbours.
func (m *Manager) Held() []mutable.Item {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mutable.Item
	for _, r := range m.own {
		if r.Item != nil {
			pub, _ := ownKeys(r)
			if it, err := r.Item.item(pub, r.Salt); err == nil {
				out = append(out, it)
			}
		}
	}
	for _, r := range m.subs {
		if r.Item != nil {
			if it, err := r.Item.item(r.PublicKey, r.Salt); err == nil {
				out = append(out, it)
			}
		}
	}
	return out
}
