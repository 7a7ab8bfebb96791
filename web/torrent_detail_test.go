package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// TestTorrentPeersTrackers: a daemon downloading from a real seeder
// lists it as a peer; the trackers of the link it was added by are
// listed in order, each once.
func TestTorrentPeersTrackers(t *testing.T) {
	d := startDaemon(t)
	seeder := enginetest.StartNode(t, enginetest.NodeOptions{})
	tt := enginetest.MakeTorrent(t, t.TempDir(), "Peers", 0, []enginetest.File{{Path: "a.bin", Size: 3 << 20}})
	s, _, err := seeder.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		t.Fatal(err)
	}
	enginetest.WaitFor(t, seeder.Engine, strconv.FormatInt(s.ID, 10), 30*time.Second, "seeder verified", enginetest.Complete)

	// Trackers nobody runs: port 1 on loopback refuses at once.
	trs := []string{"http://127.0.0.1:1/announce", "udp://[::1]:1/announce", "http://127.0.0.1:1/announce"}
	magnet := "magnet:?xt=urn:btih:" + tt.InfoHash + "&dn=Peers"
	for _, tr := range trs {
		magnet += "&tr=" + url.QueryEscape(tr)
	}
	got, _, err := d.Engine.Add(context.Background(), engine.AddRequest{Magnet: magnet, Peers: []string{seeder.PeerAddr()}})
	if err != nil {
		t.Fatal(err)
	}
	// Slow enough that the peer is still connected when asked.
	if err := d.Engine.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptrTo(200)}); err != nil {
		t.Fatal(err)
	}

	var tl trackerList
	d.json("GET", fmt.Sprintf("/api/v1/torrents/%d/trackers", got.ID), nil, http.StatusOK, &tl)
	want := []Tracker{{Announce: trs[0], Host: "127.0.0.1"}, {Announce: trs[1], Host: "::1"}}
	if fmt.Sprint(tl.Trackers) != fmt.Sprint(want) {
		t.Errorf("trackers = %+v, want %+v", tl.Trackers, want)
	}

	var pl peerList
	deadline := time.Now().Add(30 * time.Second)
	for {
		d.json("GET", fmt.Sprintf("/api/v1/torrents/%s/peers", tt.InfoHash), nil, http.StatusOK, &pl)
		if len(pl.Peers) == 1 && pl.Peers[0].DownRate > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers = %+v, want the seeder sending", pl.Peers)
		}
		time.Sleep(200 * time.Millisecond)
	}
	p := pl.Peers[0]
	if p.Addr != seeder.PeerAddr() || p.Source != "link" || p.Progress != 1 {
		t.Errorf("peer = %+v, want %s from the link with all pieces", p, seeder.PeerAddr())
	}

	// A stopped torrent has no peers: an empty list, not null.
	if err := d.Engine.Pause(got.ID); err != nil {
		t.Fatal(err)
	}
	code, body := d.do("GET", fmt.Sprintf("/api/v1/torrents/%d/peers", got.ID), "", nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); code != http.StatusOK || err != nil || string(raw["peers"]) != "[]" {
		t.Errorf("peers of a paused torrent = %d %s, want 200 {\"peers\": []}", code, body)
	}
	for _, path := range []string{"/api/v1/torrents/9999/peers", "/api/v1/torrents/9999/trackers"} {
		if code, body := d.do("GET", path, "", nil); code != http.StatusNotFound {
			t.Errorf("GET %s = %d %s, want 404", path, code, body)
		}
	}
}

func TestTorrentTrackers(t *testing.T) {
	for _, tc := range []struct {
		magnet string
		want   string
	}{
		{"", "[]"},
		{"magnet:?xt=urn:btih:00&tr=", "[]"},
		{"magnet:?tr=http%3A%2F%2Ft.example%3A6969%2Fannounce&tr=udp%3A%2F%2Fu.example%2Fa", "[{http://t.example:6969/announce t.example} {udp://u.example/a u.example}]"},
		{"magnet:?tr=%zz", "[]"},
		{"magnet:?tr=not%20a%20url%3A%2F%2F", "[{not a url:// }]"},
	} {
		if got := fmt.Sprint(torrentTrackers(tc.magnet)); got != tc.want {
			t.Errorf("torrentTrackers(%q) = %s, want %s", tc.magnet, got, tc.want)
		}
	}
}
