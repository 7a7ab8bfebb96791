package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hearth-media/hearth/web/access"
)

// The access endpoints (docs/access.md). Only the two pairing steps are
// reachable without credentials; authenticate lets nothing else through
// unless the caller is trusted or logged in.

func (a *api) accessRoutes() {
	m := a.mux
	m.Handle("GET /api/v1/access", a.h(a.getAccess))
	m.Handle("PUT /api/v1/password", a.h(a.putPassword))
	m.Handle("DELETE /api/v1/password", a.h(a.deletePassword))
	m.Handle("POST /api/v1/pair", a.h(a.requestPair))
	m.Handle("POST /api/v1/pair/{id}", a.h(a.completePair))
	m.Handle("GET /api/v1/pair", a.h(a.listPairs))
	m.Handle("POST /api/v1/pair/{id}/approve", a.h(a.approvePair))
	m.Handle("DELETE /api/v1/pair/{id}", a.h(a.denyPair))
	m.Handle("PUT /api/v1/pair/window", a.h(a.openWindow))
	m.Handle("DELETE /api/v1/pair/window", a.h(a.closeWindow))
	m.Handle("GET /api/v1/devices", a.h(a.listDevices))
	m.Handle("DELETE /api/v1/devices/{id}", a.h(a.revokeDevice))
}

// accessStatus is the body of GET /api/v1/access.
type accessStatus struct {
	access.Status
	TrustLoopback bool            `json:"trustLoopback"`
	You           access.Identity `json:"you"`
}

// controller returns the access controller, or a 404 when there is none.
func (a *api) controller() (*access.Controller, error) {
	if a.access == nil {
		return nil, errorf(http.StatusNotFound, "this daemon has no access control configured")
	}
	return a.access, nil
}

// accessError maps the access package's errors to what the client sees.
func accessError(err error) error {
	msg := err.Error()
	if len(msg) > len("access: ") && msg[:len("access: ")] == "access: " {
		msg = msg[len("access: "):]
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, access.ErrInvalid):
		return &httpError{Code: http.StatusBadRequest, Msg: msg}
	case errors.Is(err, access.ErrNotFound):
		return &httpError{Code: http.StatusNotFound, Msg: msg}
	case errors.Is(err, access.ErrWrongCode):
		return &httpError{Code: http.StatusForbidden, Msg: msg}
	case errors.Is(err, access.ErrPairingOff):
		return &httpError{Code: http.StatusForbidden, Msg: "pairing is turned off on this device (access.pairing = false)"}
	case errors.Is(err, access.ErrTooMany):
		return &httpError{Code: http.StatusTooManyRequests, Msg: msg}
	}
	if d, ok := access.IsRateLimited(err); ok {
		return &httpError{Code: http.StatusTooManyRequests, Msg: fmt.Sprintf("too many failed attempts; try again in %s", d), Err: err}
	}
	return err
}

// setRetryAfter adds Retry-After to a rate-limited answer.
func setRetryAfter(w http.ResponseWriter, err error) {
	if d, ok := access.IsRateLimited(err); ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())))
	}
}

func (a *api) getAccess(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	id, _ := IdentityFrom(r.Context())
	writeJSON(w, http.StatusOK, accessStatus{Status: c.Status(), TrustLoopback: a.trustLoopback, You: id})
	return nil
}

// passwordBody is the body of PUT /api/v1/password.
type passwordBody struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

func (a *api) putPassword(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	var b passwordBody
	if err := decodeJSON(w, r, maxJSONBody, &b); err != nil {
		return err
	}
	if err := c.SetPassword(r.Context(), b.User, b.Password); err != nil {
		return accessError(err)
	}
	writeJSON(w, http.StatusOK, c.Status())
	return nil
}

func (a *api) deletePassword(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	if err := c.ClearPassword(); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c.Status())
	return nil
}

// pairBody is the body of POST /api/v1/pair.
type pairBody struct {
	Name string `json:"name"`
}

// pairTicket is the answer to POST /api/v1/pair.
type pairTicket struct {
	access.PairTicket
	Message string `json:"message"`
}

func (a *api) requestPair(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	var b pairBody
	if err := decodeJSON(w, r, 4<<10, &b); err != nil {
		return err
	}
	t, err := c.RequestPairing(remoteIP(r), b.Name)
	if err != nil {
		setRetryAfter(w, err)
		return accessError(err)
	}
	writeJSON(w, http.StatusAccepted, pairTicket{PairTicket: t,
		Message: "enter the 6-digit code shown on the device (its screen, log or \"hearth pair\") by POSTing {\"secret\", \"code\"} to /api/v1/pair/" + t.ID +
			", or have the owner approve it (button, \"hearth pair --approve " + t.ID + "\") and POST {\"secret\"} until it answers 200"})
	return nil
}

// completeBody is the body of POST /api/v1/pair/{id}.
type completeBody struct {
	Secret string `json:"secret"`
	Code   string `json:"code"`
}

// paired is the answer to a completed pairing: the token, shown once.
type paired struct {
	Device access.Device `json:"device"`
	Token  string        `json:"token"`
}

func (a *api) completePair(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	var b completeBody
	if err := decodeJSON(w, r, 4<<10, &b); err != nil {
		return err
	}
	if b.Secret == "" {
		return errorf(http.StatusBadRequest, "missing secret: send the secret POST /api/v1/pair returned")
	}
	d, tok, err := c.CompletePairing(remoteIP(r), r.PathValue("id"), b.Secret, b.Code)
	if errors.Is(err, access.ErrPending) {
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending",
			"message": "not confirmed yet: send the code, or ask again after the owner approves"})
		return nil
	}
	if err != nil {
		setRetryAfter(w, err)
		return accessError(err)
	}
	writeJSON(w, http.StatusOK, paired{Device: d, Token: tok})
	return nil
}

// pairList is the body of GET /api/v1/pair.
type pairList struct {
	Pairing     bool                 `json:"pairing"`
	WindowUntil time.Time            `json:"windowUntil,omitzero"`
	Requests    []access.PairRequest `json:"requests"`
}

func (a *api) listPairs(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	s := c.Status()
	writeJSON(w, http.StatusOK, pairList{Pairing: s.Pairing, WindowUntil: s.WindowUntil, Requests: c.PendingPairings()})
	return nil
}

func (a *api) approvePair(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	p, err := c.ApprovePairing(r.PathValue("id"))
	if err != nil {
		return accessError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *api) denyPair(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	p, err := c.DenyPairing(r.PathValue("id"))
	if err != nil {
		return accessError(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// windowBody is the body of PUT /api/v1/pair/window.
type windowBody struct {
	Seconds int `json:"seconds"`
}

// openWindow does what the device's pairing button does (for devices
// without one, or a UI): the next device that asks is accepted.
func (a *api) openWindow(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	b := windowBody{Seconds: int(access.ButtonWindow / time.Second)}
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, 4<<10, &b); err != nil {
			return err
		}
	}
	if b.Seconds <= 0 || b.Seconds > 3600 {
		return errorf(http.StatusBadRequest, "seconds = %d: want 1 to 3600", b.Seconds)
	}
	if err := c.OpenPairingWindow(time.Duration(b.Seconds) * time.Second); err != nil {
		return accessError(err)
	}
	return a.listPairs(w, r)
}

func (a *api) closeWindow(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	c.ClosePairingWindow()
	return a.listPairs(w, r)
}

// deviceList is the body of GET /api/v1/devices.
type deviceList struct {
	Devices []access.Device `json:"devices"`
}

func (a *api) listDevices(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: c.Devices()})
	return nil
}

func (a *api) revokeDevice(w http.ResponseWriter, r *http.Request) error {
	c, err := a.controller()
	if err != nil {
		return err
	}
	d, err := c.Revoke(r.PathValue("id"))
	if err != nil {
		return accessError(err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}
