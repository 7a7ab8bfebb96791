package transmission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"unicode"
)

// style is the naming of keys in a response.
type style int

const (
	styleClassic style = iota // rpc-version 17 names: kebab-case and camelCase
	styleSnake                // Transmission 4.1 / JSON-RPC 2.0: snake_case
)

// maxBatch bounds a JSON-RPC batch.
const maxBatch = 64

// serveJSONRPC runs one JSON-RPC 2.0 request; a nil response means a
// notification (no id).
func (h *handler) serveJSONRPC(ctx context.Context, req *request) (any, func()) {
	id := req.ID
	notify := len(id) == 0
	if req.JSONRPC != "2.0" {
		return rpcError(id, codeInvalidRequest, `"jsonrpc" must be "2.0"`), nil
	}
	if len(id) > 0 && string(id) != "null" && !scalarJSON(id) {
		return rpcError(nil, codeInvalidRequest, `"id" must be a number, a string or null`), nil
	}
	if len(req.Arguments) > 0 || len(req.Tag) > 0 {
		return rpcError(id, codeInvalidRequest, `JSON-RPC 2.0 requests send "params" and "id", not "arguments" and "tag"`), nil
	}
	var after func()
	if canonMethod(req.Method) == "session-close" {
		after = h.shutdown
	}
	res, err := h.run(ctx, req.Method, req.Params, styleSnake)
	if notify {
		if err != nil {
			after = nil
		}
		return nil, after
	}
	if err != nil {
		code, msg := codeServer, err.Error()
		var re *rpcErr
		if errors.As(err, &re) {
			code = re.code
		}
		return rpcError(id, code, msg), nil
	}
	if res == nil {
		res = map[string]any{}
	}
	return map[string]any{"jsonrpc": "2.0", "result": toSnake(res), "id": id}, after
}

func rpcError(id json.RawMessage, code int, msg string) map[string]any {
	var idv any = id
	if len(id) == 0 {
		idv = nil
	}
	return map[string]any{
		"jsonrpc": "2.0",
		"error":   map[string]any{"code": code, "message": msg, "data": map[string]any{"error_string": msg}},
		"id":      idv,
	}
}

// serveBatch runs a JSON-RPC 2.0 batch.
func (h *handler) serveBatch(ctx context.Context, body []byte) (int, any, func()) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return http.StatusOK, rpcError(nil, codeParse, "malformed request: "+jsonMsg(err)), nil
	}
	if len(items) == 0 {
		return http.StatusOK, rpcError(nil, codeInvalidRequest, "empty batch"), nil
	}
	if len(items) > maxBatch {
		return http.StatusOK, rpcError(nil, codeInvalidRequest, "batch of more than 64 requests"), nil
	}
	var out []any
	var afters []func()
	for _, it := range items {
		var req request
		if err := strictDecode(it, &req); err != nil {
			out = append(out, rpcError(nil, codeInvalidRequest, err.Error()))
			continue
		}
		if req.JSONRPC == "" {
			out = append(out, rpcError(req.ID, codeInvalidRequest, `a batch holds JSON-RPC 2.0 requests: "jsonrpc" must be "2.0"`))
			continue
		}
		resp, after := h.serveJSONRPC(ctx, &req)
		if resp != nil {
			out = append(out, resp)
		}
		if after != nil {
			afters = append(afters, after)
		}
	}
	var after func()
	if len(afters) > 0 {
		after = afters[0]
	}
	if len(out) == 0 {
		return http.StatusNoContent, nil, after
	}
	return http.StatusOK, out, after
}

// snakeName turns a classic key into Transmission 4.1's snake_case:
// "peer-limit" → "peer_limit", "rateDownload" → "rate_download",
// "isUTP" → "is_utp".
func snakeName(k string) string {
	var b strings.Builder
	rs := []rune(k)
	for i, r := range rs {
		switch {
		case r == '-':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			prevLower := i > 0 && (unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1]))
			nextLower := i > 0 && i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1])
			if prevLower || nextLower {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// toSnake renames the keys of a response value for JSON-RPC 2.0.
func toSnake(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, val := range x {
			out[snakeName(k)] = toSnake(val)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = toSnake(val)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = toSnake(val)
		}
		return out
	}
	return v
}

// classicKey maps a snake_case argument key to the classic one; every
// key the handler reads is listed in knownKeys.
var classicKey = func() map[string]string {
	m := map[string]string{}
	for _, k := range knownKeys {
		if s := snakeName(k); s != k {
			m[s] = k
		}
	}
	return m
}()

// parseArgs reads the arguments object, with keys in classic form. A key
// given twice (in both namings) is an error.
func parseArgs(raw json.RawMessage) (args, error) {
	a := args{}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return a, nil
	}
	if raw[0] != '{' {
		return nil, &rpcErr{code: codeInvalidParams, msg: "arguments must be a JSON object"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &rpcErr{code: codeInvalidParams, msg: "arguments: " + jsonMsg(err)}
	}
	for k, v := range m {
		ck := k
		if c, ok := classicKey[k]; ok {
			ck = c
		}
		if _, dup := a[ck]; dup {
			return nil, errorf("argument %q given twice (as %q and in the other naming)", ck, k)
		}
		a[ck] = v
	}
	return a, nil
}
