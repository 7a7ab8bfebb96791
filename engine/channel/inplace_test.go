package channel

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine/mutable"
)

// nodeLAN hands another node's items and peer address to a manager, as
// the LAN source does between devices (web/lan tests that path).
type nodeLAN struct{ n *node }

func (l nodeLAN) Lookup(_ context.Context, target [20]byte) ([]mutable.Item, []string, error) {
	for _, it := range l.n.m.Held() {
		if it.Target() == target {
			return []mutable.Item{it}, []string{"127.0.0.1:" + strconv.Itoa(l.n.eng.Stats().PeerPort)}, nil
		}
	}
	return nil, nil, fmt.Errorf("%w: the other node does not hold the channel", mutable.ErrNotFound)
}

// TestIncompleteDirUnused: with torrent.incomplete_dir set, a channel's
// versions still download straight into the subscription's folder, where
// the next version reuses them.
func TestIncompleteDirUnused(t *testing.T) {
	pub := startNode(t, "publisher", nodeOptions{})
	inc := filepath.Join(t.TempDir(), "incomplete")
	sub := startNode(t, "subscriber", nodeOptions{lan: nodeLAN{pub}, config: func(c *config.Config) { c.Torrent.IncompleteDir = inc }})
	ctx := context.Background()
	src := t.TempDir()
	writeFiles(t, src, map[string]int64{"IMG_0001.jpg": 300_000, "IMG_0002.jpg": 200_000})
	if _, err := pub.m.Create("c", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.m.AddItems("c", []string{filepath.Join(src, "IMG_0001.jpg"), filepath.Join(src, "IMG_0002.jpg")}); err != nil {
		t.Fatal(err)
	}
	ch, err := pub.m.Publish(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := sub.m.Subscribe(ctx, ch.Link, SubscribeOptions{}); err != nil {
		t.Fatal(err)
	}
	s := waitSub(t, sub, ch.Link, 30*time.Second, "version 1", synced(1))
	sameTree(t, ch.Dir, s.Dir)
	tor, err := sub.eng.Get(strconv.FormatInt(s.TorrentID, 10))
	if err != nil || tor.DataDir != "" || tor.Dir != s.Dir {
		t.Errorf("channel torrent: folder %q, data folder %q (%v); want %q and none", tor.Dir, tor.DataDir, err, s.Dir)
	}
	if _, err := os.Stat(inc); !os.IsNotExist(err) {
		t.Errorf("the incomplete folder was used (stat: %v)", err)
	}
}
