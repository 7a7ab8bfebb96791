package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/hearth-media/hearth/web/access"
)

// Browser sessions (docs/access.md): the web UI logs in once and a cookie
// authenticates what cannot send an Authorization header (<img>, <video>,
// EventSource). The cookie's value is a paired device's token: a password
// login creates a device named after the browser, so every session is
// listed in GET /api/v1/devices and can be revoked there. HttpOnly keeps
// it from scripts; SameSite=Strict keeps other sites from using it, and
// the cross-origin check refuses their state-changing requests anyway.

// sessionCookie is the cookie's name.
const sessionCookie = "hearth_session"

// sessionMaxAge is the cookie's lifetime; revoking the device ends it sooner.
const sessionMaxAge = 365 * 24 * time.Hour

func (a *api) sessionRoutes() {
	m := a.mux
	m.Handle("POST /api/v1/session", a.h(a.login))
	m.Handle("GET /api/v1/session", a.h(a.getSession))
	m.Handle("DELETE /api/v1/session", a.h(a.logout))
}

// sessionToken returns the session cookie's token, or "" when the request
// carries none (or one that is not shaped like a token).
func sessionToken(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil || !access.LooksLikeToken(c.Value) {
		return ""
	}
	return c.Value
}

// setSessionCookie sets (tok != "") or clears the session cookie.
func setSessionCookie(w http.ResponseWriter, r *http.Request, tok string) {
	c := &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(sessionMaxAge / time.Second)}
	if tok == "" {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// loginBody is the body of POST /api/v1/session: the owner's user name
// and password, or a paired device's token.
type loginBody struct {
	User     string `json:"user"`
	Password string `json:"password"`
	Token    string `json:"token"`
}

// sessionInfo is the answer to the session endpoints.
type sessionInfo struct {
	You     access.Identity `json:"you"`
	Trusted bool            `json:"trusted"`
}

// login: POST /api/v1/session. It passes authenticate without credentials
// (publicEndpoint) and checks them itself, through the same rate limits.
func (a *api) login(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	var b loginBody
	if err := decodeJSON(w, r, 4<<10, &b); err != nil {
		return err
	}
	var cr access.Credentials
	switch {
	case b.Token != "" && (b.User != "" || b.Password != ""):
		return errorf(http.StatusBadRequest, "send either user and password or token, not both")
	case b.Token != "":
		if !access.LooksLikeToken(b.Token) {
			return errorf(http.StatusBadRequest, "token is not a pairing token (hth_…)")
		}
		cr.Token = b.Token
	case b.Password == "":
		return errorf(http.StatusBadRequest, "send {\"user\", \"password\"} or {\"token\"}")
	default:
		// A token typed as the password would be taken for a token by
		// Authenticate; that is fine, but say what it is.
		cr.User, cr.Password = b.User, b.Password
	}
	ip := remoteIP(r)
	id, err := c.Authenticate(r.Context(), ip, cr)
	if retry, limited := access.IsRateLimited(err); limited {
		setRetryAfter(w, err)
		return errorf(http.StatusTooManyRequests, "too many failed attempts from %s; try again in %s", ip, retry)
	}
	switch {
	case errors.Is(err, access.ErrBadCredentials), errors.Is(err, access.ErrNoCredentials):
		// No Basic challenge: this is the UI's login form, not a place
		// for the browser's own password dialog.
		return errorf(http.StatusUnauthorized, "wrong user name, password or token")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errorf(http.StatusServiceUnavailable, "request cancelled")
	case err != nil:
		return err
	}
	tok := cr.Token
	if id.Kind == access.KindPassword {
		d, t, err := c.NewDevice(browserName(r.UserAgent()), ip)
		if err != nil {
			return accessError(err)
		}
		tok = t
		id = access.Identity{Kind: access.KindToken, Device: d.ID, Name: d.Name}
		// The browser's previous session, if any, is replaced: logging in
		// again must not pile up devices.
		if old := sessionToken(r); old != "" && old != tok {
			c.RevokeToken(old)
		}
	}
	setSessionCookie(w, r, tok)
	writeJSON(w, http.StatusOK, sessionInfo{You: id})
	return nil
}

// getSession: GET /api/v1/session — who the caller is (authenticate let
// it in, or it got a 401).
func (a *api) getSession(w http.ResponseWriter, r *http.Request) error {
	id, _ := IdentityFrom(r.Context())
	writeJSON(w, http.StatusOK, sessionInfo{You: id, Trusted: id.Kind == access.KindTrusted})
	return nil
}

// logout: DELETE /api/v1/session revokes the session cookie's device and
// clears the cookie. Without a cookie, a caller with a device token
// (Bearer) revokes that device.
func (a *api) logout(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	id, _ := IdentityFrom(r.Context())
	if tok := sessionToken(r); tok != "" {
		c.RevokeToken(tok)
	} else if id.Kind == access.KindToken {
		if _, err := c.Revoke(id.Device); err != nil && !errors.Is(err, access.ErrNotFound) {
			return err
		}
	}
	setSessionCookie(w, r, "")
	writeJSON(w, http.StatusOK, sessionInfo{You: access.Identity{}})
	return nil
}

// browserName names a device after the browser that logged in, for the
// devices list: "Firefox on Android", "Chromium on Linux". Only a few
// well-known words of the User-Agent are looked at; the rest is ignored.
func browserName(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	browser := "Browser"
	switch {
	case has("Edg/", "Edge/"):
		browser = "Edge"
	case has("OPR/", "Opera"):
		browser = "Opera"
	case has("Firefox/"):
		browser = "Firefox"
	case has("SamsungBrowser/"):
		browser = "Samsung Internet"
	case has("Chromium/", "HeadlessChrome/"):
		browser = "Chromium"
	case has("Chrome/", "CriOS/"):
		browser = "Chrome"
	case has("Safari/"):
		browser = "Safari"
	case has("curl/"):
		browser = "curl"
	}
	system := ""
	switch {
	case has("Tizen", "Web0S", "webOS", "SMART-TV", "SmartTV", "AFT", "BRAVIA", "CrKey"):
		system = "a TV"
	case has("Android"):
		system = "Android"
	case has("iPhone", "iPad", "iPod"):
		system = "iOS"
	case has("Windows"):
		system = "Windows"
	case has("Mac OS X", "Macintosh"):
		system = "macOS"
	case has("CrOS"):
		system = "ChromeOS"
	case has("Linux"):
		system = "Linux"
	}
	if system == "" {
		return browser
	}
	return browser + " on " + system
}
