package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/enginetest"
	"github.com/hearth-media/hearth/engine/store"
)

// startChannelDaemon is an API server with a real channel manager over a
// real engine (DHT off: nothing here needs the network).
func startChannelDaemon(t *testing.T) (*daemon, *channel.Manager) {
	t.Helper()
	var m *channel.Manager
	d := startDaemon(t, func(o *Options) {
		e := o.Engine.(*engine.Engine)
		st, err := store.Open(store.Options{Backend: store.BackendMemory})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		m, err = channel.New(channel.Options{
			Engine: e, Store: st, Logger: enginetest.Logger(t),
			Dir:          filepath.Join(t.TempDir(), "channels"),
			DownloadDir:  func() string { return e.Settings().DownloadDir },
			PublishDelay: -1,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); m.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		o.Channels = m
	})
	return d, m
}

func TestChannelsAPI(t *testing.T) {
	d, _ := startChannelDaemon(t)
	src := t.TempDir()
	for _, f := range []string{"a.jpg", "b.jpg"} {
		if err := os.WriteFile(filepath.Join(src, f), []byte(strings.Repeat(f, 5000)), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var ch channel.Channel
	d.json("POST", "/api/v1/channels", map[string]string{"name": "Family photos"}, http.StatusCreated, &ch)
	if ch.Name != "Family photos" || len(ch.PublicKey) != 64 || !strings.HasPrefix(ch.Link, "magnet:?xs=urn:btpk:"+ch.PublicKey) {
		t.Fatalf("created channel = %+v", ch)
	}
	path := "/api/v1/channels/" + url.PathEscape(ch.Name)
	d.json("POST", "/api/v1/channels", map[string]string{"name": "Family photos"}, http.StatusConflict, nil)
	d.json("POST", "/api/v1/channels", map[string]string{"name": "../x"}, http.StatusBadRequest, nil)
	d.json("POST", "/api/v1/channels", map[string]string{"name": "x", "salt": "zz"}, http.StatusBadRequest, nil)
	d.json("GET", "/api/v1/channels/nope", nil, http.StatusNotFound, nil)

	var added struct {
		Added   []string        `json:"added"`
		Channel channel.Channel `json:"channel"`
	}
	d.json("POST", path+"/items", map[string]any{"paths": []string{filepath.Join(src, "a.jpg"), filepath.Join(src, "b.jpg")}}, http.StatusOK, &added)
	if len(added.Added) != 2 || !added.Channel.Changed {
		t.Fatalf("add items = %+v", added)
	}
	d.json("POST", path+"/items", map[string]any{"paths": []string{"relative.jpg"}}, http.StatusBadRequest, nil)
	d.json("POST", path+"/items", map[string]any{"paths": []string{filepath.Join(src, "a.jpg")}}, http.StatusConflict, nil)
	var items struct {
		Items []channel.ItemInfo `json:"items"`
	}
	d.json("GET", path+"/items", nil, http.StatusOK, &items)
	if len(items.Items) != 2 || items.Items[0].Path != "a.jpg" || items.Items[0].Size != 5*5000 {
		t.Errorf("items = %+v", items.Items)
	}
	d.json("POST", path+"/publish", nil, http.StatusOK, &ch)
	if ch.Version != 1 || ch.Items != 2 || ch.Changed || ch.TorrentID == 0 {
		t.Errorf("published channel = %+v", ch)
	}
	d.json("DELETE", path+"/items/b.jpg", nil, http.StatusOK, &ch)
	if !ch.Changed {
		t.Error("removing an item did not mark the channel changed")
	}
	d.json("DELETE", path+"/items/nope.jpg", nil, http.StatusNotFound, nil)
	d.json("DELETE", path+"/items/..%2F..%2Fetc", nil, http.StatusBadRequest, nil)
	d.json("POST", path+"/publish", nil, http.StatusOK, &ch)
	if ch.Version != 2 || ch.Items != 1 {
		t.Errorf("second publish = version %d with %d items, want 2 with 1", ch.Version, ch.Items)
	}
	var lk map[string]string
	d.json("GET", path+"/link", nil, http.StatusOK, &lk)
	if lk["link"] != ch.Link {
		t.Errorf("link = %q, want %q", lk["link"], ch.Link)
	}

	// The secret key is only in export-key's answer.
	var backup channel.KeyBackup
	d.json("POST", path+"/export-key", nil, http.StatusOK, &backup)
	if len(backup.SecretKey) != 64 || backup.PublicKey != ch.PublicKey || backup.Seq != 2 {
		t.Fatalf("export-key = %+v", backup)
	}
	for _, p := range []string{"/api/v1/channels", path, path + "/link"} {
		code, body := d.do("GET", p, "", nil)
		if code != http.StatusOK || strings.Contains(string(body), backup.SecretKey) {
			t.Errorf("GET %s = %d and holds the secret key: %v", p, code, strings.Contains(string(body), backup.SecretKey))
		}
	}
	d.json("GET", path+"/export-key", nil, http.StatusMethodNotAllowed, nil)
	raw, _ := json.Marshal(backup)
	d.json("POST", "/api/v1/channels/import", map[string]any{"name": "copy", "backup": json.RawMessage(raw)}, http.StatusConflict, nil) // same key here already
	d.json("POST", "/api/v1/channels/import", map[string]any{"backup": json.RawMessage(`{"format":"x"}`)}, http.StatusBadRequest, nil)

	// Subscriptions: a channel link goes to /subscriptions, and to
	// /torrents like any magnet.
	other := channel.Link{PublicKey: [32]byte{1, 2, 3}, Name: "Holiday videos"}.String()
	var sub struct {
		channel.Subscription
		Existed bool `json:"existed"`
	}
	d.json("POST", "/api/v1/subscriptions", map[string]any{"link": other, "keepRemoved": false}, http.StatusCreated, &sub)
	if sub.Name != "Holiday videos" || sub.KeepRemoved || sub.Existed || sub.Dir == "" {
		t.Fatalf("subscribe = %+v", sub)
	}
	var viaAdd struct {
		channel.Subscription
		Existed        bool `json:"existed"`
		IsSubscription bool `json:"subscription"`
	}
	d.json("POST", "/api/v1/torrents", map[string]any{"magnet": other}, http.StatusOK, &viaAdd)
	if !viaAdd.Existed || !viaAdd.IsSubscription || viaAdd.ID != sub.ID {
		t.Errorf("add of the channel link = %+v, want the existing subscription", viaAdd)
	}
	third := channel.Link{PublicKey: [32]byte{9}, Salt: []byte("s")}.String()
	d.json("POST", "/api/v1/torrents", map[string]any{"magnet": third}, http.StatusCreated, &viaAdd)
	if !viaAdd.IsSubscription || viaAdd.Existed {
		t.Errorf("add of a new channel link = %+v, want a new subscription", viaAdd)
	}
	// What does not apply to a channel is refused, as the RPC and "hearth
	// add" refuse it; peers become the link's hints.
	fourth := channel.Link{PublicKey: [32]byte{4}, Name: "Fourth"}.String()
	for _, bad := range []struct {
		body map[string]any
		want string
	}{
		{map[string]any{"magnet": fourth, "paused": true}, "cannot be added paused"},
		{map[string]any{"magnet": fourth, "files": []int{0}}, "files do not apply"},
		{map[string]any{"magnet": fourth, "peers": []string{"nohost"}}, "bad peer address"},
		{map[string]any{"magnet": fourth, "url": "http://127.0.0.1:1/x.torrent"}, "exactly one"},
		{map[string]any{"magnet": fourth, "dir": "relative"}, "absolute"},
	} {
		b, _ := json.Marshal(bad.body)
		code, body := d.do("POST", "/api/v1/torrents", "application/json", strings.NewReader(string(b)))
		if code != http.StatusBadRequest || !strings.Contains(errorMessage(t, body), bad.want) {
			t.Errorf("POST /api/v1/torrents %s = %d %s, want 400 with %q", b, code, body, bad.want)
		}
	}
	d.json("POST", "/api/v1/torrents", map[string]any{"magnet": fourth, "peers": []string{"127.0.0.1:6881"}}, http.StatusCreated, &viaAdd)
	if !viaAdd.IsSubscription || viaAdd.Name != "Fourth" {
		t.Errorf("add of a channel link with a peer = %+v, want a new subscription", viaAdd)
	}
	// An indexer's redirect to a channel link subscribes too.
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, channel.Link{PublicKey: [32]byte{5}, Name: "Redirected"}.String(), http.StatusFound)
	}))
	defer redirect.Close()
	d.json("POST", "/api/v1/torrents", map[string]any{"url": redirect.URL}, http.StatusCreated, &viaAdd)
	if !viaAdd.IsSubscription || viaAdd.Name != "Redirected" {
		t.Errorf("add of a URL redirecting to a channel link = %+v, want a new subscription", viaAdd)
	}
	d.json("DELETE", "/api/v1/subscriptions/"+viaAdd.ID, nil, http.StatusOK, nil)
	d.json("DELETE", "/api/v1/subscriptions/Fourth", nil, http.StatusOK, nil)

	d.json("POST", "/api/v1/subscriptions", map[string]any{"link": "magnet:?xs=urn:btpk:abc"}, http.StatusBadRequest, nil)
	d.json("POST", "/api/v1/subscriptions", map[string]any{"link": ch.Link}, http.StatusBadRequest, nil) // our own channel
	var subs struct {
		Subscriptions []channel.Subscription `json:"subscriptions"`
	}
	d.json("GET", "/api/v1/subscriptions", nil, http.StatusOK, &subs)
	if len(subs.Subscriptions) != 2 {
		t.Errorf("%d subscriptions, want 2", len(subs.Subscriptions))
	}
	var s channel.Subscription
	d.json("GET", "/api/v1/subscriptions/"+url.PathEscape("Holiday videos"), nil, http.StatusOK, &s)
	if s.ID != sub.ID || s.State != channel.StateError && s.State != channel.StateLooking && s.State != channel.StateWaiting {
		t.Errorf("subscription by name = %+v", s)
	}
	d.json("PATCH", "/api/v1/subscriptions/"+sub.ID, map[string]any{"keepRemoved": true}, http.StatusOK, &s)
	if !s.KeepRemoved {
		t.Error("PATCH keepRemoved did not stick")
	}
	d.json("POST", "/api/v1/subscriptions/"+sub.ID+"/seen", nil, http.StatusOK, &s)
	d.json("POST", "/api/v1/subscriptions/"+sub.ID+"/check", nil, http.StatusOK, &s)
	d.json("DELETE", "/api/v1/subscriptions/"+sub.ID+"?delete_data=maybe", nil, http.StatusBadRequest, nil)
	d.json("DELETE", "/api/v1/subscriptions/"+sub.ID+"?delete_data=true", nil, http.StatusOK, &s)
	d.json("GET", "/api/v1/subscriptions/"+sub.ID, nil, http.StatusNotFound, nil)
	if _, err := os.Stat(sub.Dir); !os.IsNotExist(err) {
		t.Errorf("unsubscribe with delete_data left %s (%v)", sub.Dir, err)
	}

	d.json("DELETE", path+"?delete_data=true", nil, http.StatusOK, nil)
	d.json("GET", path, nil, http.StatusNotFound, nil)
	if _, err := os.Stat(ch.Dir); !os.IsNotExist(err) {
		t.Errorf("delete with delete_data left %s", ch.Dir)
	}
	if _, err := os.Stat(filepath.Join(src, "a.jpg")); err != nil {
		t.Errorf("deleting the channel touched the original file: %v", err)
	}
}

// TestChannelsAPIOff: a daemon without channels says so, and a channel
// link given as a torrent is refused as one.
func TestChannelsAPIOff(t *testing.T) {
	d := startDaemon(t)
	d.json("GET", "/api/v1/channels", nil, http.StatusServiceUnavailable, nil)
	d.json("POST", "/api/v1/subscriptions", map[string]any{"link": "x"}, http.StatusServiceUnavailable, nil)
	code, body := d.do("POST", "/api/v1/torrents", "application/json", strings.NewReader(`{"magnet":"magnet:?xs=urn:btpk:`+strings.Repeat("ab", 32)+`"}`))
	if code != http.StatusBadRequest || !strings.Contains(errorMessage(t, body), "channels are not available") {
		t.Errorf("add of a channel link without channels = %d %s", code, body)
	}
}
