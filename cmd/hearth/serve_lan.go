package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/device/mdns"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/web/access"
	"github.com/hearth-media/hearth/web/lan"
)

// deviceIDKey is where the device's stable id lives in the state store:
// the mDNS id key, the seed of the host name hearth-<id>.local and of the
// channels' LAN tags.
const deviceIDKey = "device/id"

// deviceID returns the device's id, made with mdns.NewID on first start.
func deviceID(st store.Store) (string, error) {
	b, err := st.Get([]byte(deviceIDKey))
	switch {
	case err == nil && len(b) > 0:
		return string(b), nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return "", fmt.Errorf("read device id: %w", err)
	}
	id := mdns.NewID()
	if err := st.Set([]byte(deviceIDKey), []byte(id)); err != nil {
		return "", fmt.Errorf("save device id: %w", err)
	}
	return id, nil
}

// lanPresence is the daemon on the LAN: the mDNS advertiser and the
// LAN source (channels, torrents in common). Its zero value is off; every
// method is safe then.
type lanPresence struct {
	log      *slog.Logger
	adv      atomic.Pointer[mdns.Advertiser]
	src      *lan.Source
	channels bool // the source serves the channels too (channels.lan)

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// accessEvent is access.Options.OnEvent: the pair TXT key follows the
// pairing button's window.
func (p *lanPresence) accessEvent(e access.Event) {
	a := p.adv.Load()
	if a == nil {
		return
	}
	switch e.Kind {
	case access.EventWindowOpen:
		a.SetPairing(true)
	case access.EventWindowClosed:
		a.SetPairing(false)
	}
}

// lanStart is what startLAN needs of the daemon.
type lanStart struct {
	cfg      *config.Config
	st       store.Store
	addr     net.Addr // the API's listen address
	version  string
	ac       *access.Controller
	peerPort func() int
	// swarm is the engine, asked and answered about the torrents in
	// common with the neighbours (web/lan peers.go); nil: not done.
	swarm lan.Swarm
}

// start advertises the device over mDNS when device.mdns is on and the API
// is reachable from the LAN, and starts the LAN source: torrents in common
// with the neighbours become peers (device.mdns is their only switch), and
// channels use it when channels.lan is on too. A config mistake (a missing
// interface, a name too long) is an error; anything else is logged and the
// daemon runs on without it.
func (p *lanPresence) start(ctx context.Context, s lanStart) error {
	cfg := s.cfg
	if !cfg.Device.MDNS {
		p.log.Info("mdns off (device.mdns): the device is not advertised and channels do not use the LAN")
		return nil
	}
	ta, ok := s.addr.(*net.TCPAddr)
	if !ok || ta.IP.IsLoopback() {
		p.log.Info("mdns off: the API listens on loopback only, so the LAN could not reach it", "listen", s.addr.String())
		return nil
	}
	id, err := deviceID(s.st)
	if err != nil {
		return err
	}
	ctx, p.cancel = context.WithCancel(ctx)
	a, err := mdns.Start(ctx, mdns.Config{
		ID: id, Name: cfg.Device.Name, Model: cfg.Device.Model, Version: s.version, Port: ta.Port,
		Interfaces: cfg.Device.Interfaces, PairingOpen: s.ac.PairingWindowOpen(),
	}, p.log)
	if errors.Is(err, mdns.ErrConfig) {
		p.cancel()
		return fmt.Errorf("config device: %w", err)
	}
	if err != nil {
		p.cancel()
		p.log.Warn("mdns off: cannot advertise the device", "err", err)
		return nil
	}
	p.adv.Store(a)
	// The window may have changed between the read above and the Store.
	a.SetPairing(s.ac.PairingWindowOpen())
	p.log.Info("mdns started", "id", id, "port", ta.Port, "interfaces", cfg.Device.Interfaces)

	p.channels = cfg.Channels.LAN
	if !p.channels {
		p.log.Info("channels' LAN path off (channels.lan)")
		if s.swarm == nil {
			return nil
		}
	}
	names := cfg.Device.Interfaces
	src, err := lan.New(lan.Options{
		ID: id, Advertiser: a, PeerPort: s.peerPort, Logger: p.log, Swarm: s.swarm,
		Interfaces: func() ([]net.Interface, error) { return mdns.Interfaces(names) },
		// The channel manager reports its changes (heldChanged): reading
		// its items (a signature check each) is only a safety net.
		HeldInterval: heldInterval,
	})
	if err != nil {
		return fmt.Errorf("LAN source: %w", err)
	}
	p.src = src
	if s.swarm != nil {
		p.log.Info("torrents in common with Hearth devices on the LAN get them as peers (device.mdns)")
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		src.Serve(ctx)
	}()
	return nil
}

// handler is web.Options.LAN: nil when the LAN path is off.
func (p *lanPresence) handler() http.Handler {
	if p.src == nil {
		return nil
	}
	return p.src.Handler()
}

// channelLAN is channel.Options.LAN: nil when the LAN path is off.
func (p *lanPresence) channelLAN() channel.LAN {
	if p.src == nil || !p.channels {
		return nil
	}
	return p.src
}

// heldInterval is how often the LAN source reads the channels held
// without being told of a change.
const heldInterval = time.Minute

// heldChanged is channel.Options.OnChange: the LAN source advertises the
// channels' new versions at once. Safe when the LAN path is off.
func (p *lanPresence) heldChanged() {
	if p.src != nil {
		p.src.HeldChanged()
	}
}

// setHolder hands the channel manager to the LAN source.
func (p *lanPresence) setHolder(m *channel.Manager) {
	if p.src != nil && p.channels {
		p.src.SetHolder(m)
	}
}

// close stops the LAN source and says goodbye over mDNS.
func (p *lanPresence) close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
	if a := p.adv.Load(); a != nil {
		a.Close()
	}
}
