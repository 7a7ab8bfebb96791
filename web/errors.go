package web

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/link"
)

// httpError is an error with the status and the one-line message the
// client sees. Err, when set, is the cause: it goes to the log, never to the
// client (it may hold paths or internals).
type httpError struct {
	Code int
	Msg  string
	Err  error
}

func (e *httpError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Msg)
}

func (e *httpError) Unwrap() error { return e.Err }

// errorf returns an *httpError whose message is shown to the client.
func errorf(code int, format string, args ...any) *httpError {
	return &httpError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

// internalMsg is all a client learns about a 5xx: the cause is in the log.
const internalMsg = "internal error; the daemon log has the details"

// toHTTPError maps any error returned by a handler or the engine to what
// the client sees.
func toHTTPError(err error) *httpError {
	var he *httpError
	var ie *engine.InputError
	var le *link.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he
	case errors.As(err, &mbe):
		return &httpError{Code: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body is larger than %s", sizeString(mbe.Limit)), Err: err}
	case errors.As(err, &ie):
		return &httpError{Code: http.StatusBadRequest, Msg: oneLine(ie.Error())}
	case errors.As(err, &le):
		return &httpError{Code: http.StatusBadRequest, Msg: oneLine(le.Error()), Err: err}
	case errors.Is(err, engine.ErrNotFound):
		return &httpError{Code: http.StatusNotFound, Msg: "torrent not found", Err: err}
	case errors.Is(err, engine.ErrClosed):
		return &httpError{Code: http.StatusServiceUnavailable, Msg: "the daemon is shutting down", Err: err}
	default:
		return &httpError{Code: http.StatusInternalServerError, Msg: internalMsg, Err: err}
	}
}

// writeError sends err as {"error": "..."} and logs it: 5xx at error level
// with the cause, the rest at debug.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	he := toHTTPError(err)
	if he.Code >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", he.Code, "err", err)
	} else {
		log.Debug("request rejected", "method", r.Method, "path", r.URL.Path, "status", he.Code, "err", err)
	}
	msg := he.Msg
	if he.Code >= 500 && msg == "" {
		msg = internalMsg
	}
	writeJSON(w, he.Code, errorBody{Error: oneLine(msg)})
}

// oneLine keeps an error message on one line: clients print it as is.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// jsonError turns an encoding/json decode error into a 400 (or 413) that
// says what is wrong in the caller's terms.
func jsonError(err error) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		b64  base64.CorruptInputError
		mbe  *http.MaxBytesError
		msg  string
		code = http.StatusBadRequest
	)
	switch {
	case errors.As(err, &mbe):
		return err // toHTTPError makes it a 413
	case errors.Is(err, io.EOF):
		msg = "request body is empty: want a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg = "malformed JSON: unexpected end of input"
	case errors.As(err, &syn):
		msg = fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field != "" {
			msg = fmt.Sprintf("field %q: want %s, got %s", typ.Field, jsonTypeName(typ.Type.String()), typ.Value)
		} else {
			msg = fmt.Sprintf("want %s, got %s", jsonTypeName(typ.Type.String()), typ.Value)
		}
	case errors.As(err, &b64):
		msg = fmt.Sprintf("bad base64 at byte %d (metainfo must be standard base64 of the .torrent file)", int64(b64))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		msg = "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		msg = "bad JSON: " + strings.TrimPrefix(err.Error(), "json: ")
	}
	return &httpError{Code: code, Msg: oneLine(msg), Err: err}
}

// jsonTypeName names a Go type the way a JSON client thinks of it.
func jsonTypeName(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "[]uint8"):
		return "a base64 string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"),
		goType == "time.Duration", goType == "engine.Priority":
		return "an integer"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"),
		strings.Contains(goType, "."):
		return "an object"
	}
	return goType
}

// sizeString prints a byte limit the way error messages state it.
func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
