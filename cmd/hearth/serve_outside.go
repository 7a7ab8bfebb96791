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
	"github.com/hearth-media/hearth/web"
)

// mappingLifetime is what the router is asked for; the mapping is renewed
// at half of what it grants (RFC 6886 recommends 2 hours).
const mappingLifetime = 2 * time.Hour

// outside is the outside link of shares (config share.outside): a
// listener on share.outside_port that serves share pages only (the
// control API is never reachable from outside the home), and a NAT-PMP
// mapping of that port on the router, renewed while the daemon runs.
type outside struct {
	log  *slog.Logger
	port uint16
	pmp  *natpmp.Client

	mu sync.Mutex
	st web.OutsideState
}

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
		o.pmp = &natpmp.Client{Gateway: gw}
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if o.pmp != nil {
			o.run(mctx)
		}
	}()
	return o.state, func() {
		cancel()
		<-done
		if o.pmp != nil {
			dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
			if _, err := o.pmp.MapTCP(dctx, o.port, 0, 0); err != nil {
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

// mapOnce asks for the mapping and the external address and returns when
// to renew.
func (o *outside) mapOnce(ctx context.Context) (time.Duration, error) {
	m, err := o.pmp.MapTCP(ctx, o.port, o.port, mappingLifetime)
	if errors.Is(err, natpmp.ErrNoAnswer) {
		return 0, errors.New("the router does not answer NAT-PMP (UPnP-IGD is not supported yet): forward the port by hand or use the links at home")
	}
	if err != nil {
		return 0, fmt.Errorf("the router refused a port mapping: %w", err)
	}
	ext, err := o.pmp.ExternalAddress(ctx)
	if err != nil {
		return 0, fmt.Errorf("the router did not tell its address: %w", err)
	}
	if !publicAddr(ext) {
		return 0, fmt.Errorf("the router's own address %s is not public (another router or the provider's NAT is in front): outside links would not work", ext)
	}
	o.set(web.OutsideState{Base: "http://" + netip.AddrPortFrom(ext, m.External).String()})
	return max(m.Lifetime/2, time.Minute), nil
}

// publicAddr: an address the internet can reach, so not private, shared
// (carrier-grade NAT, 100.64.0.0/10), loopback, link-local or unspecified.
// Documentation ranges count as public so that tests can use them.
func publicAddr(a netip.Addr) bool {
	cgn := netip.MustParsePrefix("100.64.0.0/10")
	return a.IsValid() && a.IsGlobalUnicast() && !a.IsPrivate() && !cgn.Contains(a)
}
