package web

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hearth-media/hearth/web/access"
)

// Access control for every remote interface the handler serves (/api/v1,
// /transmission/rpc, the web UI): the checks run in this order, as
// Transmission runs its own:
//
//  1. checkClient: the client address allow-list (Options.Clients) → 403.
//  2. checkHost: the Host header allow-list, against DNS rebinding → 421.
//  3. authenticate: loopback callers are trusted (Options.TrustLoopback);
//     others need HTTP Basic (the owner's password, or any user name with
//     a pairing token as the password: that is all a Transmission remote
//     can send), "Authorization: Bearer TOKEN" or the web UI's session
//     cookie holding a token (session.go) → 401 with a Basic
//     challenge, or 429 when the address has failed too often. Only the
//     two pairing steps (POST /api/v1/pair, POST /api/v1/pair/{id}), the
//     login (POST /api/v1/session, which checks its body itself),
//     the channels' LAN item lookup (GET /lan/v1/items/{64 hex digits},
//     package web/lan), the LAN torrent question (POST /lan/v1/peers)
//     and share pages (GET /s/…, package web/sharepage, when served)
//     pass without credentials, and so does a stream with a valid signed
//     link (stream_url.go; a wrong or expired one → 403).

// authRealm is the realm of the Basic challenge; remotes show it.
const authRealm = `Basic realm="Hearth", charset="UTF-8"`

type identityKey struct{}

// IdentityFrom returns who made the request, once authenticate let it in.
// Without access control (Options.Access nil) every caller is trusted.
func IdentityFrom(ctx context.Context) (access.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(access.Identity)
	return id, ok
}

// remoteIP is the caller's address; never a header (X-Forwarded-For is
// whatever the caller wants it to be).
func remoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Not ip:port (a test's pipe, a unix socket): not loopback, and
		// the limiter keys it as the unspecified address.
		if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
			return a.Unmap()
		}
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap()
}

// checkClient refuses addresses outside Options.Clients (when set) with
// 403, as Transmission's rpc-whitelist does. Loopback always passes: the
// list is about the LAN, and the device's own tools must keep working.
func (a *api) checkClient(next http.Handler) http.Handler {
	if len(a.clients) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := remoteIP(r)
		if !ip.IsLoopback() && !containsAddr(a.clients, ip) {
			writeError(w, r, a.log, errorf(http.StatusForbidden, "address %s is not allowed to connect (access.clients)", ip))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func containsAddr(ps []netip.Prefix, ip netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// publicEndpoint reports whether r is one of the two pairing steps, which
// a client must reach before it has credentials, a LAN item lookup or a
// LAN torrent question.
func publicEndpoint(r *http.Request) bool {
	if lanItemLookup(r) || lanPeersQuery(r) || uiPage(r) {
		return true
	}
	if r.Method != http.MethodPost {
		return false
	}
	if r.URL.Path == "/api/v1/session" {
		return true // login checks the credentials in its body (session.go)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/pair")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	id, ok := strings.CutPrefix(rest, "/")
	if !ok || id == "" || len(id) > 16 {
		return false
	}
	for _, c := range id {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// lanItemLookup reports whether r is GET /lan/v1/items/ followed by
// exactly 64 lowercase hex digits (a query token only a device that knows
// the channel can make): other Hearth devices ask it for a channel's
// signed item, which anyone who knows the channel can get from the DHT
// anyway (see web/lan). Nothing else under /lan/ is public.
func lanItemLookup(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	hex, ok := strings.CutPrefix(r.URL.Path, "/lan/v1/items/")
	if !ok || len(hex) != 64 || r.URL.RawQuery != "" {
		return false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// lanPeersQuery reports whether r is POST /lan/v1/peers with no query
// string: another Hearth device asks which of its torrents this one has,
// with tokens only a device that has a torrent can recognise (see
// web/lan); the answer is that subset and the peer port.
func lanPeersQuery(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/lan/v1/peers" && r.URL.RawQuery == ""
}

// credentials extracts what the Authorization header carries, or without
// one the session cookie's token (session.go). ok is false for a header
// that is there but malformed.
func credentials(r *http.Request) (cr access.Credentials, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		cr.Token = sessionToken(r)
		return cr, true
	}
	scheme, rest, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		cr.Token = strings.TrimSpace(rest)
		return cr, cr.Token != ""
	case strings.EqualFold(scheme, "Basic"):
		u, p, ok := r.BasicAuth()
		if !ok {
			return cr, false
		}
		cr.User, cr.Password = u, p
		// Some remotes send an empty user name with a token; an empty
		// password is never valid, but it is a (wrong) credential.
		if u == "" && p == "" {
			cr.Password = "\x00"
		}
		return cr, true
	}
	return cr, false
}

// authenticate lets trusted, authenticated and pairing requests through.
func (a *api) authenticate(next http.Handler) http.Handler {
	if a.access == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, access.Identity{Kind: access.KindTrusted})))
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := remoteIP(r)
		pass := func(id access.Identity) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
		}
		if ip.IsLoopback() && a.trustLoopback {
			pass(access.Identity{Kind: access.KindTrusted})
			return
		}
		if publicEndpoint(r) || (a.sharePages != nil && sharePage(r)) {
			next.ServeHTTP(w, r)
			return
		}
		if signed, valid, why := a.streamLink(r); signed {
			// A signed stream link (stream_url.go) is its own key, for
			// players that cannot log in; it opens that one file only.
			if !valid {
				writeError(w, r, a.log, errorf(http.StatusForbidden, "%s", why))
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		cr, ok := credentials(r)
		if !ok {
			a.unauthorized(w, r, "malformed Authorization header: send Basic or Bearer credentials")
			return
		}
		if cr == (access.Credentials{}) && ip.IsLoopback() && r.Method == http.MethodPut &&
			r.URL.Path == "/api/v1/password" && !a.access.HasCredentials() {
			// access.trust_loopback is off and no password or device
			// exists yet: the device itself may set the first password,
			// or nobody could ever get in.
			pass(access.Identity{Kind: access.KindTrusted})
			return
		}
		id, err := a.access.Authenticate(r.Context(), ip, cr)
		if retry, limited := access.IsRateLimited(err); limited {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
			writeError(w, r, a.log, errorf(http.StatusTooManyRequests, "too many failed attempts from %s; try again in %s", ip, retry))
			return
		}
		switch {
		case err == nil:
			pass(id)
		case errors.Is(err, access.ErrNoCredentials):
			a.unauthorized(w, r, "authentication required: log in with the device's user name and password, or pair this device (see docs/access.md)")
		case errors.Is(err, access.ErrBadCredentials):
			if r.Header.Get("Authorization") == "" && cr.Token != "" {
				// A revoked session: drop the cookie, or every request
				// of the page (and EventSource's retries) would count
				// as a failure until the address is rate-limited.
				setSessionCookie(w, r, "")
			}
			a.unauthorized(w, r, "wrong user name, password or token")
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			// The client went away while waiting for the password hash.
			writeError(w, r, a.log, errorf(http.StatusServiceUnavailable, "request cancelled"))
		default:
			writeError(w, r, a.log, err)
		}
	})
}

func (a *api) unauthorized(w http.ResponseWriter, r *http.Request, msg string) {
	setChallenge(w, r)
	writeError(w, r, a.log, errorf(http.StatusUnauthorized, "%s", msg))
}

// setChallenge adds the Basic challenge to a 401, which makes remote apps
// and a browser that opens an API URL ask for a password. The web UI's
// own requests (fetch, EventSource, <img>, <video>: Sec-Fetch-Dest other
// than document) get none: the browser would put its password dialog in
// front of the UI's login and pairing screens.
func setChallenge(w http.ResponseWriter, r *http.Request) {
	if d := r.Header.Get("Sec-Fetch-Dest"); d != "" && d != "document" && d != "iframe" {
		return
	}
	w.Header().Set("WWW-Authenticate", authRealm)
}

// hostMatches reports whether host (lowercased, no port) is allowed by
// pattern: a name, or "*.suffix" for any name under suffix.
func hostMatches(pattern, host string) bool {
	if suffix, ok := strings.CutPrefix(pattern, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return pattern == host
}

// DeviceHostNames returns the names a device is reached by on a LAN: its
// host name, host name.local (mDNS), and the same lowercased. serve adds
// them to Options.AllowedHosts.
func DeviceHostNames(hostname string) []string {
	h := strings.ToLower(strings.TrimSuffix(hostname, "."))
	if h == "" {
		return nil
	}
	short, _, _ := strings.Cut(h, ".")
	names := []string{h, short, short + ".local"}
	if net.ParseIP(h) != nil {
		return nil
	}
	return names
}
