package engine

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound means no torrent has the given id or infohash.
var ErrNotFound = errors.New("engine: torrent not found")

// ErrClosed is returned by calls on a closed engine.
var ErrClosed = errors.New("engine: closed")

// InputError is bad input from a user: a malformed torrent or link, an
// unsafe file name, an out-of-range value. The API maps it to 400.
type InputError struct {
	Msg string
	Err error
}

func (e *InputError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *InputError) Unwrap() error { return e.Err }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// State is where a torrent is in its life.
type State string

const (
	StateStopped     State = "stopped"     // paused by the user, or seeding limit reached
	StateQueued      State = "queued"      // waiting for a download slot
	StateQueuedSeed  State = "queued-seed" // finished, waiting for a seeding slot
	StateMetadata    State = "metadata"    // fetching the info dictionary from peers (magnet)
	StateChecking    State = "checking"    // verifying data on disk
	StateDownloading State = "downloading" // transferring wanted pieces
	StateSeeding     State = "seeding"     // all wanted data present, uploading
	StateError       State = "error"       // stopped by an error (see Torrent.Error), e.g. disk full
	StateMoving      State = "moving"      // its data is moving to another folder (SetLocation, incomplete dir)
)

// Priority of a file's pieces.
type Priority int

const (
	PriorityLow    Priority = -1
	PriorityNormal Priority = 0
	PriorityHigh   Priority = 1
)

// AddRequest adds a torrent. Exactly one of Magnet, Metainfo and Path is set.
type AddRequest struct {
	Magnet   string // magnet:?xt=urn:btih:…
	Metainfo []byte // contents of a .torrent file
	Path     string // a .torrent file on the daemon's file system
	Dir      string // destination folder; empty = the configured download dir
	Paused   bool   // add stopped
	// Files lists the indices of the files to download; nil means all.
	Files []int
	// Peers are extra peer addresses (host:port) to connect to at once.
	Peers []string
	// Name replaces the display name from the link or the metadata.
	Name string
	// VerifiedPieces are pieces whose data the caller already placed in
	// Dir and vouches for, so the engine marks them complete without
	// hashing them. Channels use it for files carried over from the
	// previous version (same bytes, same piece-aligned position, same
	// piece hashes). Only with Metainfo or Path; ignored for a duplicate.
	VerifiedPieces []int
	// InPlace keeps the data in Dir from the first byte: the incomplete
	// folder (torrent.incomplete_dir) is not used, now or after a
	// restart. Channels set it: a subscription's files live in its folder
	// and the next version reuses them there. Ignored for a duplicate.
	InPlace bool
}

// File is one file of a torrent.
type File struct {
	Index    int      `json:"index"`
	Path     string   `json:"path"` // slash separated, relative to the torrent's folder
	Size     int64    `json:"size"`
	Done     int64    `json:"done"` // bytes verified
	Wanted   bool     `json:"wanted"`
	Priority Priority `json:"priority"`
}

// Torrent is a snapshot of one torrent.
type Torrent struct {
	ID       int64  `json:"id"` // stable across restarts
	InfoHash string `json:"infoHash"`
	Name     string `json:"name"`
	State    State  `json:"state"`
	Error    string `json:"error,omitempty"`
	Dir      string `json:"dir"`
	Magnet   string `json:"magnet"`

	// DataDir is where the data is while it differs from Dir: the
	// incomplete folder, until the download completes and moves to Dir.
	DataDir string   `json:"dataDir,omitempty"`
	Labels  []string `json:"labels,omitempty"`
	// Finished means a seeding limit stopped it (State is stopped).
	Finished bool `json:"finished,omitempty"`
	Private  bool `json:"private,omitempty"` // BEP 27: peers only from its trackers

	HasMetadata  bool      `json:"hasMetadata"`
	Size         int64     `json:"size"`       // total of all files
	WantedSize   int64     `json:"wantedSize"` // total of wanted files
	Done         int64     `json:"done"`       // verified bytes of wanted files
	Progress     float64   `json:"progress"`   // Done/WantedSize, 0..1
	PieceCount   int       `json:"pieceCount"`
	PieceSize    int64     `json:"pieceSize"`
	PiecesDone   int       `json:"piecesDone"`
	Downloaded   int64     `json:"downloaded"` // payload bytes ever downloaded
	Uploaded     int64     `json:"uploaded"`   // payload bytes ever uploaded
	Ratio        float64   `json:"ratio"`
	DownRate     int64     `json:"downRate"` // bytes/s
	UpRate       int64     `json:"upRate"`   // bytes/s
	ETA          int64     `json:"eta"`      // seconds, -1 unknown
	Peers        int       `json:"peers"`
	Seeds        int       `json:"seeds"`
	QueuePos     int       `json:"queuePos"`
	AddedAt      time.Time `json:"addedAt"`
	DoneAt       time.Time `json:"doneAt,omitzero"`
	LastActivity time.Time `json:"lastActivity,omitzero"`

	// PeersSending and PeersReceiving count the connected peers that sent
	// us data, or got data from us, in the last second or so.
	PeersSending   int       `json:"peersSending"`
	PeersReceiving int       `json:"peersReceiving"`
	StartedAt      time.Time `json:"startedAt,omitzero"` // last time it started running, this run of the daemon
	EditedAt       time.Time `json:"editedAt,omitzero"`  // last change by a user (state, options, files, labels, location)

	// BytesHashed is this torrent's data read and hashed since it last
	// started in this run of the daemon: a restart must not hash again
	// what was verified before it (the reliability suite counts it).
	BytesHashed int64 `json:"bytesHashed"`

	Options TorrentOptions `json:"options"`
	Files   []File         `json:"files,omitempty"`
}

// TorrentOptions are the per-torrent settings.
type TorrentOptions struct {
	DownloadKBps int           `json:"downloadKBps"` // 0 = unlimited (global limit still applies)
	UploadKBps   int           `json:"uploadKBps"`
	SeedRatio    float64       `json:"seedRatio"` // -1 = use global, 0 = never stop
	SeedIdle     time.Duration `json:"seedIdle"`  // -1 = use global, 0 = never stop
	// Sequential fetches wanted pieces in order, a window ahead of the
	// first missing one (sequential.go): play a film while it downloads.
	Sequential bool `json:"sequential,omitempty"`
}

// OptionsPatch changes per-torrent settings; nil fields stay as they are.
type OptionsPatch struct {
	DownloadKBps *int           `json:"downloadKBps,omitempty"`
	UploadKBps   *int           `json:"uploadKBps,omitempty"`
	SeedRatio    *float64       `json:"seedRatio,omitempty"`
	SeedIdle     *time.Duration `json:"seedIdle,omitempty"`
	Sequential   *bool          `json:"sequential,omitempty"`
}

// FilePatch changes one file's wanted flag or priority.
type FilePatch struct {
	Index    int       `json:"index"`
	Wanted   *bool     `json:"wanted,omitempty"`
	Priority *Priority `json:"priority,omitempty"`
}

// Settings are the runtime settings that can be changed through the API and
// persist in the store, over the config file.
type Settings struct {
	DownloadKBps int           `json:"downloadKBps"`
	UploadKBps   int           `json:"uploadKBps"`
	MaxDownloads int           `json:"maxDownloads"`
	MaxSeeds     int           `json:"maxSeeds"`
	SeedRatio    float64       `json:"seedRatio"`
	SeedIdle     time.Duration `json:"seedIdle"`
	DownloadDir  string        `json:"downloadDir"`
	// IncompleteDir, when set, holds new downloads until they complete;
	// then they move to their download folder.
	IncompleteDir string `json:"incompleteDir"`

	// Alternative ("turtle") limits replace DownloadKBps and UploadKBps
	// while AltEnabled is on (0 = unlimited). With AltScheduled, the
	// engine turns AltEnabled on at AltBegin and off at AltEnd (local
	// time, HH:MM) on AltDays (config.ParseDays); a user may still switch
	// it until the next of those times, as in Transmission.
	AltDownloadKBps int    `json:"altDownloadKBps"`
	AltUploadKBps   int    `json:"altUploadKBps"`
	AltEnabled      bool   `json:"altEnabled"`
	AltScheduled    bool   `json:"altScheduled"`
	AltBegin        string `json:"altBegin"`
	AltEnd          string `json:"altEnd"`
	AltDays         string `json:"altDays"`

	// PeerPort (0 = any free port) and Encryption (prefer, require,
	// tolerate) are saved at once but the peer listener and handshakes are
	// set up at start: they apply after a restart. PendingRestart names
	// the settings whose saved value is not the one in use.
	PeerPort       int      `json:"peerPort"`
	Encryption     string   `json:"encryption"`
	PendingRestart []string `json:"pendingRestart,omitempty"`
}

// SettingsPatch changes settings; nil fields stay as they are.
type SettingsPatch struct {
	DownloadKBps    *int           `json:"downloadKBps,omitempty"`
	UploadKBps      *int           `json:"uploadKBps,omitempty"`
	MaxDownloads    *int           `json:"maxDownloads,omitempty"`
	MaxSeeds        *int           `json:"maxSeeds,omitempty"`
	SeedRatio       *float64       `json:"seedRatio,omitempty"`
	SeedIdle        *time.Duration `json:"seedIdle,omitempty"`
	DownloadDir     *string        `json:"downloadDir,omitempty"`
	IncompleteDir   *string        `json:"incompleteDir,omitempty"` // "" turns it off
	AltDownloadKBps *int           `json:"altDownloadKBps,omitempty"`
	AltUploadKBps   *int           `json:"altUploadKBps,omitempty"`
	AltEnabled      *bool          `json:"altEnabled,omitempty"`
	AltScheduled    *bool          `json:"altScheduled,omitempty"`
	AltBegin        *string        `json:"altBegin,omitempty"`
	AltEnd          *string        `json:"altEnd,omitempty"`
	AltDays         *string        `json:"altDays,omitempty"`
	PeerPort        *int           `json:"peerPort,omitempty"`
	Encryption      *string        `json:"encryption,omitempty"`
}

// Stats are engine-wide figures.
type Stats struct {
	Torrents    int           `json:"torrents"`
	Active      int           `json:"active"`
	DownRate    int64         `json:"downRate"`
	UpRate      int64         `json:"upRate"`
	Downloaded  int64         `json:"downloaded"`  // this session
	Uploaded    int64         `json:"uploaded"`    // this session
	BytesHashed int64         `json:"bytesHashed"` // data read and hashed since start (a restart must not re-hash verified data)
	PeerPort    int           `json:"peerPort"`
	Store       string        `json:"store"`
	Uptime      time.Duration `json:"uptime"`
	// Total adds up every run of the daemon on this store, this one included.
	Total TotalStats `json:"total"`
	// StoreReserve is the space downloads leave free on the store's file
	// system (0: none kept): a full disk must not take the store down.
	StoreReserve int64 `json:"storeReserve"`
}

// TotalStats are transfer figures over every run of the daemon.
type TotalStats struct {
	Downloaded int64         `json:"downloaded"`
	Uploaded   int64         `json:"uploaded"`
	Active     time.Duration `json:"active"`   // time the daemon ran
	Sessions   int           `json:"sessions"` // times it started
}

// Peer is one connected peer of a running torrent.
type Peer struct {
	Addr     string  `json:"addr"`   // host:port
	Client   string  `json:"client"` // its client name, if it sent one
	Source   string  `json:"source"` // how we found it: tracker, dht, pex, incoming, link, holepunch, other
	UTP      bool    `json:"utp"`
	Progress float64 `json:"progress"` // share of the pieces it has, 0..1
	DownRate int64   `json:"downRate"` // bytes/s from it
	UpRate   int64   `json:"upRate"`   // bytes/s to it
}
