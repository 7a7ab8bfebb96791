package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/device/natpmp"
	"github.com/hearth-media/hearth/device/upnpigd"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/connlimit"
)

// mappingLifetime is what the router is asked for; the mapping is renewed
// at half of what it grants (RFC 6886 recommends 2 hours).
const mappingLifetime = 2 * time.Hour

// outside is the outside link of shares (config share.outside): a
// listener on share.outside_port that serves share pages only (the
// control API is never reachable from outside the home), and a mapping
// of that port on the router (NAT-PMP, else UPnP-IGD), renewed while the
// daemon runs.
type outside struct {
	log  *slog.Logger
	port uint16
	gw   netip.AddrPort // NAT-PMP address of the router; invalid: none found
	pm   portMapper     // the protocol the router answered; nil until then

	mu sync.Mutex
	st web.OutsideState
}

// maxOutsideConns bounds the outside share port's connections (see maxConns).
const maxOutsideConns = 128

// startOutside starts the share-pages listener and the mapping; state is
// nil when share.outside is off. stop deletes the mapping and closes the
// listener.
func startOutside(ctx context.Context, cfg *config.Config, pages http.Handler, log *slog.Logger) (state func() web.OutsideState, stop func(), err error) {
	if !cfg.Share.Outside || pages == nil {
		return nil, func() {}, nil
	}
	log = log.With("component", "outside")
	host, _, _ := net.SplitHostPort(cfg.Listen)
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.Share.OutsidePort)))
	if err != nil {
		return nil, nil, fmt.Errorf("share pages for outside links: %w", err)
	}
	// Visitors from the internet: a household behind one address opens
	// a page's 6 connections per browser.
	ln = connlimit.Listen(ln, connlimit.Options{Total: maxOutsideConns, PerClient: maxConnsPerClient, Logger: log})
	mux := http.NewServeMux()
	mux.Handle("GET /s/", pages)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	go srv.Serve(ln)

	o := &outside{log: log, port: uint16(ln.Addr().(*net.TCPAddr).Port), st: web.OutsideState{Reason: "asking the router for a port mapping"}}
	gw, err := gatewayAddr(cfg.Share.Gateway)
	if err != nil {
		o.set(web.OutsideState{Reason: "no router to ask: " + err.Error()})
		log.Warn("no outside link", "err", err)
	} else {
		o.gw = gw
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if o.gw.IsValid() {
			o.run(mctx)
		}
	}()
	return o.state, func() {
		cancel()
		<-done
		if o.pm != nil {
			dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
			if _, err := o.pm.MapTCP(dctx, o.port, 0); err != nil {
				log.Debug("delete port mapping", "err", err)
			}
			dcancel()
		}
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(sctx)
		scancel()
	}, nil
}

// gatewayAddr is share.gateway (IP or IP:PORT), or the default route's gateway.
func gatewayAddr(s string) (netip.AddrPort, error) {
	if s == "" {
		a, err := natpmp.Gateway()
		if err != nil {
			return netip.AddrPort{}, err
		}
		return netip.AddrPortFrom(a, natpmp.Port), nil
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("share.gateway %q: %w", s, err)
	}
	return netip.AddrPortFrom(a, natpmp.Port), nil
}

func (o *outside) state() web.OutsideState {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.st
}

func (o *outside) set(st web.OutsideState) {
	o.mu.Lock()
	changed := o.st != st
	o.st = st
	o.mu.Unlock()
	if changed && st.Base != "" {
		o.log.Info("outside link", "base", st.Base)
	} else if changed {
		o.log.Warn("no outside link", "reason", st.Reason)
	}
}

// run maps the port and renews the mapping; after a failure it tries
// again after a minute, doubling up to an hour.
func (o *outside) run(ctx context.Context) {
	retry := time.Minute
	for {
		wait, err := o.mapOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			o.set(web.OutsideState{Reason: err.Error()})
			wait, retry = retry, min(retry*2, time.Hour)
		} else {
			retry = time.Minute
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// portMapper is NAT-PMP or UPnP-IGD: map o.port (lifetime 0 deletes)
// and tell the router's public address.
type portMapper interface {
	MapTCP(ctx context.Context, port uint16, lifetime time.Duration) (granted time.Duration, err error)
	ExternalAddress(ctx context.Context) (netip.Addr, error)
	Name() string
}

type pmpMapper struct{ c *natpmp.Client }

func (p pmpMapper) Name() string { return "NAT-PMP" }
func (p pmpMapper) ExternalAddress(ctx context.Context) (netip.Addr, error) {
	return p.c.ExternalAddress(ctx)
}
func (p pmpMapper) MapTCP(ctx context.Context, port uint16, life time.Duration) (time.Duration, error) {
	m, err := p.c.MapTCP(ctx, port, port, life)
	if err == nil && life != 0 && m.External != port {
		// The router chose another port: links would need it, and the
		// next renewal might move it again. Give it back.
		p.c.MapTCP(ctx, port, 0, 0)
		return 0, fmt.Errorf("the router offered port %d instead of %d", m.External, port)
	}
	return m.Lifetime, err
}

type igdMapper struct{ c *upnpigd.Client }

func (u igdMapper) Name() string { return "UPnP-IGD" }
func (u igdMapper) ExternalAddress(ctx context.Context) (netip.Addr, error) {
	return u.c.ExternalAddress(ctx)
}
func (u igdMapper) MapTCP(ctx context.Context, port uint16, life time.Duration) (time.Duration, error) {
	granted, err := u.c.MapTCP(ctx, port, port, life)
	if err == nil && life != 0 && granted == 0 {
		granted = mappingLifetime // permanent: renew as usual, deleted at stop
	}
	return granted, err
}

// mapper finds the protocol the router speaks: NAT-PMP first (one UDP
// exchange), then UPnP-IGD (on the same router address, port 1900).
func (o *outside) mapper(ctx context.Context) (portMapper, error) {
	if o.pm != nil {
		return o.pm, nil
	}
	pmp := pmpMapper{&natpmp.Client{Gateway: o.gw}}
	if _, err := pmp.ExternalAddress(ctx); err == nil {
		return pmp, nil
	} else if !errors.Is(err, natpmp.ErrNoAnswer) {
		return nil, fmt.Errorf("the router refused NAT-PMP: %w", err)
	}
	c, err := upnpigd.Discover(ctx, netip.AddrPortFrom(o.gw.Addr(), 0))
	if err != nil {
		return nil, errors.New("the router answers neither NAT-PMP nor UPnP-IGD: forward the port by hand or use the links at home")
	}
	return igdMapper{c}, nil
}

// mapOnce asks for the mapping and the external address and returns when
// to renew.
func (o *outside) mapOnce(ctx context.Context) (time.Duration, error) {
	pm, err := o.mapper(ctx)
	if err != nil {
		return 0, err
	}
	o.pm = pm
	life, err := pm.MapTCP(ctx, o.port, mappingLifetime)
	if err != nil {
		return 0, fmt.Errorf("the router refused a port mapping (%s): %w", pm.Name(), err)
	}
	ext, err := pm.ExternalAddress(ctx)
	if err != nil {
		return 0, fmt.Errorf("the router did not tell its address: %w", err)
	}
	if !publicAddr(ext) {
		return 0, fmt.Errorf("the router's own address %s is not public (another router or the provider's NAT is in front): outside links would not work", ext)
	}
	o.set(web.OutsideState{Base: "http://" + netip.AddrPortFrom(ext, o.port).String()})
	return max(life/2, time.Minute), nil
}

// publicAddr: an address the internet can reach, so not private, shared
// (carrier-grade NAT, 100.64.0.0/10), loopback, link-local or unspecified.
// Documentation ranges count as public so that tests can use them.
func publicAddr(a netip.Addr) bool {
	cgn := netip.MustParsePrefix("100.64.0.0/10")
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !cgn.Contains(a)
}
