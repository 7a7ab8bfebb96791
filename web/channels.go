package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
)

// Channels is what the API needs of the channel manager;
// *channel.Manager implements it (safe for concurrent use).
type Channels interface {
	Channels() []channel.Channel
	Channel(name string) (channel.Channel, error)
	Create(name string, salt []byte) (channel.Channel, error)
	DeleteChannel(name string, deleteData bool) error
	Items(name string) ([]channel.ItemInfo, error)
	AddItems(name string, paths []string) ([]string, error)
	RemoveItem(name, item string) error
	Publish(ctx context.Context, name string) (channel.Channel, error)
	ExportKey(name string) ([]byte, error)
	ImportKey(backup []byte, name string) (channel.Channel, error)

	Subscribe(ctx context.Context, link string, o channel.SubscribeOptions) (channel.Subscription, bool, error)
	Subscriptions() []channel.Subscription
	Subscription(ref string) (channel.Subscription, error)
	Unsubscribe(ref string, deleteData bool) error
	MarkSeen(ref string) error
	SetKeepRemoved(ref string, keep bool) error
	Check(ref string) error
}

var _ Channels = (*channel.Manager)(nil)

// channelRoutes registers /api/v1/channels and /api/v1/subscriptions
// (docs/channels.md). Without a manager they answer 503.
func (a *api) channelRoutes(ch Channels) {
	c := &channelAPI{api: a, ch: ch}
	m := a.mux
	m.Handle("GET /api/v1/channels", a.h(c.list))
	m.Handle("POST /api/v1/channels", a.h(c.create))
	m.Handle("POST /api/v1/channels/import", a.h(c.importKey))
	m.Handle("GET /api/v1/channels/{name}", a.h(c.get))
	m.Handle("DELETE /api/v1/channels/{name}", a.h(c.delete))
	m.Handle("GET /api/v1/channels/{name}/items", a.h(c.items))
	m.Handle("POST /api/v1/channels/{name}/items", a.h(c.addItems))
	m.Handle("DELETE /api/v1/channels/{name}/items/{item...}", a.h(c.removeItem))
	m.Handle("POST /api/v1/channels/{name}/publish", a.h(c.publish))
	m.Handle("GET /api/v1/channels/{name}/link", a.h(c.link))
	m.Handle("POST /api/v1/channels/{name}/export-key", a.h(c.exportKey))
	m.Handle("GET /api/v1/subscriptions", a.h(c.listSubs))
	m.Handle("POST /api/v1/subscriptions", a.h(c.subscribe))
	m.Handle("GET /api/v1/subscriptions/{ref}", a.h(c.getSub))
	m.Handle("PATCH /api/v1/subscriptions/{ref}", a.h(c.patchSub))
	m.Handle("DELETE /api/v1/subscriptions/{ref}", a.h(c.unsubscribe))
	m.Handle("POST /api/v1/subscriptions/{ref}/seen", a.h(c.seen))
	m.Handle("POST /api/v1/subscriptions/{ref}/check", a.h(c.check))
}

type channelAPI struct {
	*api
	ch Channels
}

// channelError maps the manager's errors; the rest goes to toHTTPError.
func channelError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, channel.ErrNotFound):
		return &httpError{Code: http.StatusNotFound, Msg: oneLine(err.Error()), Err: err}
	case errors.Is(err, channel.ErrExists):
		return &httpError{Code: http.StatusConflict, Msg: oneLine(err.Error()), Err: err}
	case errors.Is(err, channel.ErrBadLink):
		return &httpError{Code: http.StatusBadRequest, Msg: oneLine(err.Error()), Err: err}
	}
	return err
}

func (c *channelAPI) ready() error {
	if c.ch == nil {
		return errorf(http.StatusServiceUnavailable, "channels are not available in this daemon")
	}
	return nil
}

func (c *channelAPI) list(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"channels": c.ch.Channels()})
	return nil
}

func (c *channelAPI) create(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body struct {
		Name string `json:"name"`
		Salt string `json:"salt"` // hex, optional
	}
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	salt, err := hex.DecodeString(body.Salt)
	if err != nil {
		return errorf(http.StatusBadRequest, "salt %q: want hex digits", body.Salt)
	}
	ch, err := c.ch.Create(body.Name, salt)
	if err != nil {
		return channelError(err)
	}
	w.Header().Set("Location", "/api/v1/channels/"+url.PathEscape(ch.Name))
	writeJSON(w, http.StatusCreated, ch)
	return nil
}

func (c *channelAPI) importKey(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body struct {
		Name   string          `json:"name"`   // optional: the backup's name
		Backup json.RawMessage `json:"backup"` // the object export-key returned
	}
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	if len(body.Backup) == 0 {
		return errorf(http.StatusBadRequest, "backup is missing: send the object export-key returned")
	}
	ch, err := c.ch.ImportKey(body.Backup, body.Name)
	if err != nil {
		return channelError(err)
	}
	w.Header().Set("Location", "/api/v1/channels/"+url.PathEscape(ch.Name))
	writeJSON(w, http.StatusCreated, ch)
	return nil
}

func (c *channelAPI) get(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	ch, err := c.ch.Channel(r.PathValue("name"))
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

// deleteData reads ?delete_data=true|false.
func deleteData(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("delete_data")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errorf(http.StatusBadRequest, "delete_data=%q: want true or false", v)
	}
	return b, nil
}

func (c *channelAPI) delete(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	del, err := deleteData(r)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	ch, err := c.ch.Channel(name)
	if err != nil {
		return channelError(err)
	}
	if err := c.ch.DeleteChannel(name, del); err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (c *channelAPI) items(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	items, err := c.ch.Items(r.PathValue("name"))
	if err != nil {
		return channelError(err)
	}
	if items == nil {
		items = []channel.ItemInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (c *channelAPI) addItems(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body struct {
		Paths []string `json:"paths"` // absolute paths on the daemon's file system
	}
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	name := r.PathValue("name")
	added, err := c.ch.AddItems(name, body.Paths)
	if err != nil {
		return channelError(err)
	}
	ch, err := c.ch.Channel(name)
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": added, "channel": ch})
	return nil
}

func (c *channelAPI) removeItem(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := c.ch.RemoveItem(name, r.PathValue("item")); err != nil {
		return channelError(err)
	}
	ch, err := c.ch.Channel(name)
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (c *channelAPI) publish(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	// Not cancelled with the request: hashing a big new video can outlast
	// a client's patience, and the work is not lost by finishing it.
	ch, err := c.ch.Publish(context.WithoutCancel(r.Context()), r.PathValue("name"))
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, ch)
	return nil
}

func (c *channelAPI) link(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	ch, err := c.ch.Channel(r.PathValue("name"))
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, map[string]string{"name": ch.Name, "link": ch.Link})
	return nil
}

// exportKey answers the channel's key backup, secret key included: the
// only answer of the API that holds a secret. POST, so no link or
// prefetch can trigger it.
func (c *channelAPI) exportKey(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	b, err := c.ch.ExportKey(r.PathValue("name"))
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, json.RawMessage(b))
	return nil
}

func (c *channelAPI) listSubs(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"subscriptions": c.ch.Subscriptions()})
	return nil
}

// subscribeBody is POST /api/v1/subscriptions.
type subscribeBody struct {
	Link        string `json:"link"`
	Dir         string `json:"dir"`
	KeepRemoved *bool  `json:"keepRemoved"`
}

// subscribeResponse is the subscription plus whether it was already there.
type subscribeResponse struct {
	channel.Subscription
	Existed bool `json:"existed"`
}

func (c *channelAPI) subscribe(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body subscribeBody
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	return c.doSubscribe(w, r, body)
}

func (c *channelAPI) doSubscribe(w http.ResponseWriter, r *http.Request, body subscribeBody) error {
	s, existed, err := c.ch.Subscribe(r.Context(), body.Link, channel.SubscribeOptions{Dir: body.Dir, KeepRemoved: body.KeepRemoved})
	if err != nil {
		return channelError(err)
	}
	code := http.StatusOK
	if !existed {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/subscriptions/"+s.ID)
	}
	writeJSON(w, code, subscribeResponse{Subscription: s, Existed: existed})
	return nil
}

// subscribeFromAdd takes a channel link given to POST /api/v1/torrents:
// a channel link is accepted wherever a magnet is. dir is the
// subscription's folder and peers become the link's peer hints; paused
// and files do not apply (the manager runs the channel's torrent, and a
// subscription takes every file) and are refused, as the Transmission
// RPC and "hearth add" refuse them. The answer is the subscription's,
// with "subscription": true.
func (a *api) subscribeFromAdd(w http.ResponseWriter, r *http.Request, req engine.AddRequest) error {
	c := &channelAPI{api: a, ch: a.channels}
	if c.ch == nil {
		return errorf(http.StatusBadRequest, "channel links (magnet:?xs=urn:btpk:…) subscribe to a channel, and channels are not available in this daemon")
	}
	switch {
	case req.Paused:
		return errorf(http.StatusBadRequest, "a channel link subscribes to the channel: it cannot be added paused")
	case req.Files != nil:
		return errorf(http.StatusBadRequest, "files do not apply to a channel link: a subscription takes every file")
	}
	lnk := req.Magnet
	if len(req.Peers) > 0 {
		l, err := channel.ParseLink(lnk)
		if err != nil {
			return &httpError{Code: http.StatusBadRequest, Msg: oneLine(err.Error()), Err: err}
		}
		for _, p := range req.Peers {
			if _, _, err := net.SplitHostPort(p); err != nil {
				return errorf(http.StatusBadRequest, "bad peer address %q: want host:port", p)
			}
		}
		l.Peers = append(l.Peers, req.Peers...)
		lnk = l.String()
	}
	s, existed, err := c.ch.Subscribe(r.Context(), lnk, channel.SubscribeOptions{Dir: req.Dir})
	if err != nil {
		return channelError(err)
	}
	code := http.StatusOK
	if !existed {
		code = http.StatusCreated
		w.Header().Set("Location", "/api/v1/subscriptions/"+s.ID)
	}
	writeJSON(w, code, struct {
		subscribeResponse
		IsSubscription bool `json:"subscription"`
	}{subscribeResponse{s, existed}, true})
	return nil
}

func (c *channelAPI) getSub(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	return c.writeSub(w, r.PathValue("ref"))
}

func (c *channelAPI) writeSub(w http.ResponseWriter, ref string) error {
	s, err := c.ch.Subscription(ref)
	if err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (c *channelAPI) patchSub(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	var body struct {
		KeepRemoved *bool `json:"keepRemoved"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &body); err != nil {
		return err
	}
	ref := r.PathValue("ref")
	if body.KeepRemoved != nil {
		if err := c.ch.SetKeepRemoved(ref, *body.KeepRemoved); err != nil {
			return channelError(err)
		}
	}
	return c.writeSub(w, ref)
}

func (c *channelAPI) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	del, err := deleteData(r)
	if err != nil {
		return err
	}
	s, err := c.ch.Subscription(r.PathValue("ref"))
	if err != nil {
		return channelError(err)
	}
	if err := c.ch.Unsubscribe(s.ID, del); err != nil {
		return channelError(err)
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (c *channelAPI) seen(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	ref := r.PathValue("ref")
	if err := c.ch.MarkSeen(ref); err != nil {
		return channelError(err)
	}
	return c.writeSub(w, ref)
}

func (c *channelAPI) check(w http.ResponseWriter, r *http.Request) error {
	if err := c.ready(); err != nil {
		return err
	}
	ref := r.PathValue("ref")
	if err := c.ch.Check(ref); err != nil {
		return channelError(err)
	}
	return c.writeSub(w, ref)
}
