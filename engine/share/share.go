// Package share keeps the device's shares: a random link token that lets
// anyone who has it see a channel's files or a torrent's (or some of
// them) without an account. It only stores and checks shares; the page
// the link opens is served by package web/share.
//
// Each share is stored under share/s/<id> (JSON); the token is found
// through share/t/<hex SHA-256 of the token> → id, so a lookup never
// scans, and the stored token is then compared in constant time. The
// token is kept (not only its hash) so that the owner can show the link
// or its QR code again; only authenticated API callers ever see it.
package share

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hearth-media/hearth/engine/store"
)

var (
	// ErrNotFound means no share has the id or token.
	ErrNotFound = errors.New("share: not found")
	// ErrGone means the share was revoked, has expired or used up its
	// downloads: its link answers 410.
	ErrGone = errors.New("share: gone")
	// ErrInput is a bad create request.
	ErrInput = errors.New("share: bad request")
)

// TokenBytes is the token's entropy: 144 bits, 24 base64url characters.
const TokenBytes = 18

// Share is one share.
type Share struct {
	ID    string `json:"id"`
	Token string `json:"token"`
	Label string `json:"label,omitempty"`
	Note  string `json:"note,omitempty"`
	// Exactly one of Channel and TorrentID is set.
	Channel   string `json:"channel,omitempty"`
	TorrentID int64  `json:"torrentId,omitempty"`
	// Files limits a torrent share to these paths (as engine.File.Path);
	// empty means every file.
	Files        []string  `json:"files,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	ExpiresAt    time.Time `json:"expiresAt,omitzero"`
	MaxDownloads int       `json:"maxDownloads,omitempty"` // 0 = no cap
	Downloads    int       `json:"downloads"`
	RevokedAt    time.Time `json:"revokedAt,omitzero"`
}

// Status says whether the link works at now: "active", "revoked",
// "expired" or "used up".
func (s Share) Status(now time.Time) string {
	switch {
	case !s.RevokedAt.IsZero():
		return "revoked"
	case !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
		return "expired"
	case s.MaxDownloads > 0 && s.Downloads >= s.MaxDownloads:
		return "used up"
	}
	return "active"
}

// CreateRequest describes a new share.
type CreateRequest struct {
	Channel      string   `json:"channel,omitempty"`
	TorrentID    int64    `json:"torrentId,omitempty"`
	Files        []string `json:"files,omitempty"`
	Label        string   `json:"label,omitempty"`
	Note         string   `json:"note,omitempty"`
	ExpiresIn    Duration `json:"expiresIn,omitempty"` // 0 = never
	MaxDownloads int      `json:"maxDownloads,omitempty"`
}

// Limits of what a share holds.
const (
	MaxLabel = 200
	MaxNote  = 4000
	MaxFiles = 10000
)

// Manager stores shares. Its methods are safe for concurrent use.
type Manager struct {
	st  store.Store
	now func() time.Time
	mu  sync.Mutex // serialises read-modify-write of records
}

// New returns a manager over st; now may be nil (time.Now).
func New(st store.Store, now func() time.Time) *Manager {
	if now == nil {
		now = time.Now
	}
	return &Manager{st: st, now: now}
}

func recKey(id string) []byte { return []byte("share/s/" + id) }

func tokenKey(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return []byte("share/t/" + hex.EncodeToString(h[:]))
}

func inputErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInput, fmt.Sprintf(format, args...))
}

// Create makes a share. The caller checks that the channel or torrent
// exists.
func (m *Manager) Create(req CreateRequest) (Share, error) {
	switch {
	case (req.Channel == "") == (req.TorrentID == 0):
		return Share{}, inputErrorf("give either a channel or a torrent")
	case req.TorrentID < 0:
		return Share{}, inputErrorf("bad torrent id %d", req.TorrentID)
	case len(req.Files) > 0 && req.Channel != "":
		return Share{}, inputErrorf("a file subset is for torrent shares")
	case len(req.Files) > MaxFiles:
		return Share{}, inputErrorf("at most %d files", MaxFiles)
	case len(req.Label) > MaxLabel:
		return Share{}, inputErrorf("label longer than %d bytes", MaxLabel)
	case len(req.Note) > MaxNote:
		return Share{}, inputErrorf("note longer than %d bytes", MaxNote)
	case req.ExpiresIn < 0:
		return Share{}, inputErrorf("negative expiry")
	case req.MaxDownloads < 0:
		return Share{}, inputErrorf("negative download cap")
	}
	for _, f := range req.Files {
		if f == "" || strings.ContainsRune(f, 0) {
			return Share{}, inputErrorf("bad file path %q", f)
		}
	}
	id, err := randomString(8, hex.EncodeToString)
	if err != nil {
		return Share{}, err
	}
	token, err := randomString(TokenBytes, base64.RawURLEncoding.EncodeToString)
	if err != nil {
		return Share{}, err
	}
	now := m.now().UTC().Truncate(time.Second)
	s := Share{
		ID: id, Token: token, Label: req.Label, Note: req.Note,
		Channel: req.Channel, TorrentID: req.TorrentID, Files: slices.Clone(req.Files),
		CreatedAt: now, MaxDownloads: req.MaxDownloads,
	}
	if req.ExpiresIn > 0 {
		s.ExpiresAt = now.Add(time.Duration(req.ExpiresIn))
	}
	val, err := json.Marshal(s)
	if err != nil {
		return Share{}, fmt.Errorf("encode share: %w", err)
	}
	err = m.st.Update(func(tx store.Txn) error {
		if err := tx.Set(recKey(id), val); err != nil {
			return err
		}
		return tx.Set(tokenKey(token), []byte(id))
	})
	if err != nil {
		return Share{}, fmt.Errorf("store share: %w", err)
	}
	return s, nil
}

func randomString(n int, enc func([]byte) string) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return enc(b), nil
}

// Get returns a share by id, whatever its status.
func (m *Manager) Get(id string) (Share, error) {
	val, err := m.st.Get(recKey(id))
	if errors.Is(err, store.ErrNotFound) || id == "" || strings.Contains(id, "/") {
		return Share{}, fmt.Errorf("%w: id %q", ErrNotFound, id)
	}
	if err != nil {
		return Share{}, fmt.Errorf("read share %s: %w", id, err)
	}
	var s Share
	if err := json.Unmarshal(val, &s); err != nil {
		return Share{}, fmt.Errorf("decode share %s: %w", id, err)
	}
	return s, nil
}

// List returns every share, newest first.
func (m *Manager) List() ([]Share, error) {
	var out []Share
	err := m.st.Scan([]byte("share/s/"), func(_, val []byte) error {
		var s Share
		if err := json.Unmarshal(val, &s); err != nil {
			return fmt.Errorf("decode share: %w", err)
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list shares: %w", err)
	}
	slices.SortFunc(out, func(a, b Share) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Lookup finds the share a link token opens. It returns ErrNotFound for a
// token no share has and the share with ErrGone for one that no longer
// works.
func (m *Manager) Lookup(token string) (Share, error) {
	if len(token) == 0 || len(token) > 64 {
		return Share{}, ErrNotFound
	}
	id, err := m.st.Get(tokenKey(token))
	if errors.Is(err, store.ErrNotFound) {
		return Share{}, ErrNotFound
	}
	if err != nil {
		return Share{}, fmt.Errorf("read share token: %w", err)
	}
	s, err := m.Get(string(id))
	if err != nil {
		return Share{}, err
	}
	if subtle.ConstantTimeCompare([]byte(s.Token), []byte(token)) != 1 {
		return Share{}, ErrNotFound
	}
	if s.Status(m.now()) != "active" {
		return s, ErrGone
	}
	return s, nil
}

// CountDownload records one download of the share (a file or the whole
// archive) and fails with ErrGone when the cap was already reached.
func (m *Manager) CountDownload(id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.Get(id)
	if err != nil {
		return err
	}
	if s.Status(m.now()) != "active" {
		return ErrGone
	}
	s.Downloads++
	return m.put(s)
}

// Revoke turns a share's link off for good. The record stays so that
// the link answers 410 (gone) rather than 404.
func (m *Manager) Revoke(id string) (Share, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, err := m.Get(id)
	if err != nil {
		return Share{}, err
	}
	if s.RevokedAt.IsZero() {
		s.RevokedAt = m.now().UTC().Truncate(time.Second)
		if err := m.put(s); err != nil {
			return Share{}, err
		}
	}
	return s, nil
}

func (m *Manager) put(s Share) error {
	val, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode share: %w", err)
	}
	if err := m.st.Set(recKey(s.ID), val); err != nil {
		return fmt.Errorf("store share %s: %w", s.ID, err)
	}
	return nil
}

// Duration is a time.Duration that JSON carries as a string ("168h",
// "7d") or a number of seconds.
type Duration time.Duration

// ParseDuration reads "7d", "12h", "90m" or anything time.ParseDuration
// takes.
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || days < 0 || days > 36500 || fmt.Sprint(days) != n {
			return 0, inputErrorf("bad duration %q", s)
		}
		return Duration(time.Duration(days) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, inputErrorf("bad duration %q", s)
	}
	return Duration(d), nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a string (ParseDuration) or seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := ParseDuration(s)
		*d = v
		return err
	}
	var secs int64
	if err := json.Unmarshal(b, &secs); err != nil {
		return inputErrorf("duration: want a string like \"7d\" or seconds")
	}
	// Beyond ±292 years the product wraps around: 9223372037 seconds
	// read as a negative span, 18446744074 as a few seconds (FuzzDuration).
	if secs > int64(math.MaxInt64/time.Second) || secs < int64(math.MinInt64/time.Second) {
		return inputErrorf("duration of %d seconds is out of range", secs)
	}
	*d = Duration(time.Duration(secs) * time.Second)
	return nil
}
