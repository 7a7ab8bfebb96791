package peers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/netns"
)

// TransmissionOptions configures StartTransmission. The zero value is fine.
type TransmissionOptions struct {
	// PeerPort is the BitTorrent port; 0 picks a free one.
	PeerPort int
	// Settings override or add settings.json keys (Transmission 3.00 names).
	Settings map[string]any
}

// Transmission is a transmission-daemon started for one test.
type Transmission struct {
	// ConfigDir is its -g directory (settings.json, resume files, log).
	ConfigDir string
	// PeerPort is the port it accepts peers on.
	PeerPort int
	// RPCPort is the port of its RPC, on 127.0.0.1 inside its namespace.
	RPCPort int

	proc   *process
	client *http.Client
	url    string

	mu        sync.Mutex
	sessionID string
}

// StartTransmission starts transmission-daemon inside ns (the host when
// nil) and waits until its RPC answers.
func StartTransmission(t testing.TB, ns *netns.NS, opts TransmissionOptions) *Transmission {
	t.Helper()
	Require(t, "transmission-daemon")
	dir := t.TempDir()
	tr := &Transmission{ConfigDir: filepath.Join(dir, "config"), PeerPort: opts.PeerPort, client: httpClient(ns)}
	if tr.PeerPort == 0 {
		tr.PeerPort = freePort(t, ns)
	}
	tr.RPCPort = freePort(t, ns)
	for tr.RPCPort == tr.PeerPort {
		tr.RPCPort = freePort(t, ns)
	}
	tr.url = "http://127.0.0.1:" + strconv.Itoa(tr.RPCPort) + "/transmission/rpc"

	whitelist := []string{"127.0.0.1", "::1"}
	if ns != nil {
		for _, a := range ns.Addrs() {
			whitelist = append(whitelist, a.String())
		}
	}
	settings := map[string]any{
		"alt-speed-enabled":              false,
		"bind-address-ipv4":              "0.0.0.0",
		"bind-address-ipv6":              "::",
		"blocklist-enabled":              false,
		"dht-enabled":                    false,
		"download-dir":                   filepath.Join(dir, "downloads"),
		"download-queue-enabled":         false,
		"idle-seeding-limit-enabled":     false,
		"incomplete-dir-enabled":         false,
		"lpd-enabled":                    false,
		"message-level":                  2,
		"peer-port":                      tr.PeerPort,
		"peer-port-random-on-start":      false,
		"pex-enabled":                    false,
		"port-forwarding-enabled":        false,
		"queue-stalled-enabled":          false,
		"ratio-limit-enabled":            false,
		"rename-partial-files":           false,
		"rpc-authentication-required":    false,
		"rpc-bind-address":               "0.0.0.0",
		"rpc-enabled":                    true,
		"rpc-host-whitelist-enabled":     false,
		"rpc-port":                       tr.RPCPort,
		"rpc-whitelist":                  strings.Join(whitelist, ","),
		"rpc-whitelist-enabled":          true,
		"scrape-paused-torrents-enabled": false,
		"seed-queue-enabled":             false,
		"speed-limit-down-enabled":       false,
		"speed-limit-up-enabled":         false,
		"start-added-torrents":           true,
		"trash-original-torrent-files":   false,
		"utp-enabled":                    false,
		"watch-dir-enabled":              false,
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	if err := os.MkdirAll(tr.ConfigDir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tr.ConfigDir, "settings.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tr.proc = start(t, ns, filepath.Join(dir, "transmission.log"),
		"transmission-daemon", "-f", "-g", tr.ConfigDir)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err = waitUntil(ctx, tr.proc, "transmission-daemon RPC", func() (bool, error) {
		var v struct {
			Version string `json:"version"`
		}
		err := tr.call(ctx, "session-get", map[string]any{"fields": []string{"version"}}, &v)
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// PID is the daemon's process id.
func (tr *Transmission) PID() int { return tr.proc.cmd.Process.Pid }

// PeakRSS is the daemon's peak resident set size (VmHWM) in bytes: read now
// while it runs, or just before it was stopped.
func (tr *Transmission) PeakRSS() int64 { return tr.proc.PeakRSS() }

// Stop kills the daemon now (the test's cleanup would do it later).
func (tr *Transmission) Stop() { tr.proc.stop() }

// Add adds a .torrent, saving into downloadDir (where a seeder's data
// already is). Transmission checks existing data before it seeds it.
func (tr *Transmission) Add(ctx context.Context, torrentPath, downloadDir string) error {
	b, err := os.ReadFile(torrentPath)
	if err != nil {
		return fmt.Errorf("transmission add: %w", err)
	}
	var res struct {
		Added     json.RawMessage `json:"torrent-added"`
		Duplicate json.RawMessage `json:"torrent-duplicate"`
	}
	err = tr.call(ctx, "torrent-add", map[string]any{
		"metainfo":     base64.StdEncoding.EncodeToString(b),
		"download-dir": downloadDir,
		"paused":       false,
	}, &res)
	if err != nil {
		return fmt.Errorf("transmission add %s: %w", torrentPath, err)
	}
	if res.Added == nil && res.Duplicate == nil {
		return fmt.Errorf("transmission add %s: no torrent in the answer", torrentPath)
	}
	return nil
}

// TransmissionStats is one torrent's state as transmission reports it.
type TransmissionStats struct {
	HashString     string  `json:"hashString"`
	Status         int     `json:"status"` // 0 stopped, 1/2 check wait/checking, 3/4 download wait/downloading, 5/6 seed wait/seeding
	Error          int     `json:"error"`
	ErrorString    string  `json:"errorString"`
	PercentDone    float64 `json:"percentDone"`
	LeftUntilDone  int64   `json:"leftUntilDone"`
	SizeWhenDone   int64   `json:"sizeWhenDone"`
	HaveValid      int64   `json:"haveValid"`
	RateDownload   int64   `json:"rateDownload"`
	RateUpload     int64   `json:"rateUpload"`
	DownloadedEver int64   `json:"downloadedEver"`
	UploadedEver   int64   `json:"uploadedEver"`
	PeersConnected int     `json:"peersConnected"`
}

var statsFields = []string{"hashString", "status", "error", "errorString", "percentDone", "leftUntilDone",
	"sizeWhenDone", "haveValid", "rateDownload", "rateUpload", "downloadedEver", "uploadedEver", "peersConnected"}

// Stats returns the state of the torrent with this infohash (hex).
func (tr *Transmission) Stats(ctx context.Context, infohash string) (TransmissionStats, error) {
	var res struct {
		Torrents []TransmissionStats `json:"torrents"`
	}
	err := tr.call(ctx, "torrent-get", map[string]any{"ids": []string{strings.ToLower(infohash)}, "fields": statsFields}, &res)
	if err != nil {
		return TransmissionStats{}, fmt.Errorf("transmission stats %s: %w", infohash, err)
	}
	if len(res.Torrents) != 1 {
		return TransmissionStats{}, fmt.Errorf("transmission stats %s: %d torrents", infohash, len(res.Torrents))
	}
	return res.Torrents[0], nil
}

// WaitComplete waits until the torrent has every byte verified (a leecher
// finished, or a seeder's check found all data), or fails on a torrent
// error, the daemon's exit, or ctx.
func (tr *Transmission) WaitComplete(ctx context.Context, infohash string) error {
	return waitUntil(ctx, tr.proc, "transmission wait "+infohash, func() (bool, error) {
		s, err := tr.Stats(ctx, infohash)
		if err != nil {
			return false, err
		}
		// error 3 is a local error (files, disk): final. 1 and 2 are
		// tracker warnings and errors, which a retry may fix.
		if s.Error == 3 {
			return true, fmt.Errorf("transmission torrent %s: %s", infohash, s.ErrorString)
		}
		if s.SizeWhenDone > 0 && s.LeftUntilDone == 0 && s.PercentDone == 1 && s.Status != 1 && s.Status != 2 {
			return true, nil
		}
		return false, fmt.Errorf("%.1f%% done, status %d, %d peers, error %d %q",
			100*s.PercentDone, s.Status, s.PeersConnected, s.Error, s.ErrorString)
	})
}

// call makes one RPC, doing the X-Transmission-Session-Id handshake (a 409
// answer carries the id to send).
func (tr *Transmission) call(ctx context.Context, method string, args any, result any) error {
	body, err := json.Marshal(map[string]any{"method": method, "arguments": args})
	if err != nil {
		return err
	}
	for range 2 {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tr.url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		tr.mu.Lock()
		req.Header.Set("X-Transmission-Session-Id", tr.sessionID)
		tr.mu.Unlock()
		resp, err := tr.client.Do(req)
		if err != nil {
			return err
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		if resp.StatusCode == http.StatusConflict {
			tr.mu.Lock()
			tr.sessionID = resp.Header.Get("X-Transmission-Session-Id")
			tr.mu.Unlock()
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("rpc %s: %s: %s", method, resp.Status, bytes.TrimSpace(data))
		}
		var r struct {
			Result    string          `json:"result"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return fmt.Errorf("rpc %s: %w", method, err)
		}
		if r.Result != "success" {
			return fmt.Errorf("rpc %s: %s", method, r.Result)
		}
		if result == nil {
			return nil
		}
		return json.Unmarshal(r.Arguments, result)
	}
	return errors.New("rpc " + method + ": no session id after a 409")
}
