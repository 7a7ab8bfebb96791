package transmission

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/hearth-media/hearth/engine/channel"
)

// Channels is what torrent-add needs of the channel manager to take
// channel links; *channel.Manager implements it (safe for concurrent use).
type Channels interface {
	Subscribe(ctx context.Context, link string, o channel.SubscribeOptions) (channel.Subscription, bool, error)
	Subscription(ref string) (channel.Subscription, error)
}

var _ Channels = (*channel.Manager)(nil)

// defaultChannelWait is how long torrent-add waits for a channel's
// torrent when the subscription has none yet. On a LAN, or with the
// publisher reachable through the DHT, the first version is usually in
// the engine within a few seconds; remote apps wait this long for a URL's
// .torrent too.
const defaultChannelWait = 10 * time.Second

// addChannel is torrent-add with a BEP 46 channel link: it subscribes
// through the channel manager. The answer is Transmission's: torrent-added
// (torrent-duplicate if the channel was already followed) with the
// channel's current torrent, waiting up to ChannelWait for a new
// subscription's first version. If the version is still being resolved
// then, the answer is an error result that says so — the subscription
// stays and its torrent appears in the list once found. Transmission's
// answers have no "accepted, no torrent yet": a success without
// torrent-added breaks apps that read its hashString, while every app
// shows an error result's text to the user (docs/remote.md).
func (c *call) addChannel(lnk, dir string, paused bool, labels []string, sel fileSel) (map[string]any, error) {
	chs := c.h.channels
	if chs == nil {
		return nil, errorf("channel links (magnet:?xs=urn:btpk:…) subscribe to a channel, and channels are not available in this daemon")
	}
	// What cannot apply to a channel: its torrent is the manager's, and
	// every file of every version is wanted.
	switch {
	case paused:
		return nil, errorf("a channel link subscribes to the channel: it cannot be added paused")
	case len(labels) > 0:
		return nil, errorf("labels do not apply to a channel link: it subscribes to the channel, whose torrent changes with each version")
	case len(sel.unwanted) > 0 || sel.priorities():
		return nil, errorf("files-unwanted and priority-* do not apply to a channel link: a subscription takes every file")
	}
	sub, existed, err := chs.Subscribe(c.ctx, lnk, channel.SubscribeOptions{Dir: dir})
	if err != nil {
		return nil, err
	}
	c.h.log.Info("channel link added through the RPC", "subscription", sub.ID, "name", sub.Name, "existed", existed)
	if sub.TorrentID == 0 {
		sub = c.waitChannel(sub)
	}
	if sub.TorrentID == 0 {
		why := "its first version is being looked up"
		if sub.Error != "" {
			why = "no version found yet (" + sub.Error + ")"
		}
		return nil, &rpcErr{code: codeServer, msg: oneLine(fmt.Sprintf(
			"subscribed to channel %q, but %s: its torrent appears in the list once found", sub.Name, why))}
	}
	brief := map[string]any{"id": sub.TorrentID, "name": sub.Name, "hashString": sub.InfoHash}
	if t, err := c.h.eng.Get(strconv.FormatInt(sub.TorrentID, 10)); err == nil {
		brief["name"], brief["hashString"] = t.Name, t.InfoHash
	}
	if existed {
		return map[string]any{"torrent-duplicate": brief}, nil
	}
	return map[string]any{"torrent-added": brief}, nil
}

// waitChannel polls a subscription until its version is in the engine,
// its first check failed, the wait is over or the request ends.
func (c *call) waitChannel(sub channel.Subscription) channel.Subscription {
	ctx, cancel := context.WithTimeout(c.ctx, c.h.channelWait)
	defer cancel()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return sub
		case <-t.C:
		}
		s, err := c.h.channels.Subscription(sub.ID)
		if err != nil {
			return sub
		}
		sub = s
		if s.TorrentID != 0 || s.Error != "" && s.State != channel.StateLooking && s.State != channel.StateFetching {
			return sub
		}
	}
}
