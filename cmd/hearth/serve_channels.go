package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/anacrolix/dht/v2"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/mutable"
	"github.com/hearth-media/hearth/engine/store"
)

// dhtConfig is engine.Options.ConfigureDHT: the DHT node keeps at most
// channels.dht_items BEP 44 items for others, with its own send limiter
// (engine/mutable.ConfigureServer).
func dhtConfig(cfg *config.Config) func(*dht.ServerConfig) {
	return mutable.ConfigureServer(cfg.Channels.DHTItems, nil)
}

// startChannels runs the channel manager over the engine, its DHT node
// (none when the DHT is off) and the LAN source (nil when off) until ctx
// ends; stop waits for it. onChange is called when the channels held
// change (lanPresence.heldChanged). The channels this device publishes
// live in DATA_DIR/channels.
func startChannels(ctx context.Context, cfg *config.Config, st store.Store, eng *engine.Engine, lan channel.LAN, onChange func(), log *slog.Logger) (m *channel.Manager, stop func(), err error) {
	m, err = channel.New(channel.Options{
		Engine:       eng,
		Store:        st,
		DHT:          channel.ServerDHT(eng.DHT()),
		LAN:          lan,
		Logger:       log,
		Dir:          filepath.Join(cfg.DataDir, "channels"),
		DownloadDir:  func() string { return eng.Settings().DownloadDir },
		PollInterval: cfg.Channels.PollInterval,
		Republish:    cfg.Channels.Republish,
		KeepRemoved:  cfg.Channels.KeepRemoved,
		OnChange:     onChange,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("start channels: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		m.Serve(ctx)
	}()
	return m, func() { cancel(); wg.Wait() }, nil
}
