// Package transmission serves Transmission's RPC protocol over Hearth's
// engine, so the remote apps people already use (transmission-remote,
// Transmission Remote GUI, Tremotesf, Transmissionic, Transmission's web
// client, Flood, the *arr tools) control a Hearth device unchanged.
//
// # Protocol
//
// A client POSTs one JSON request to /transmission/rpc:
//
//	{"method": "torrent-get", "arguments": {"fields": ["id", "name"], "ids": [1, 7]}, "tag": 39}
//
// and gets one JSON response with HTTP 200:
//
//	{"result": "success", "arguments": {"torrents": [...]}, "tag": 39}
//
// "result" is "success" or a one-line error message; "tag" is echoed. The
// names are those of rpc-version 17 (Transmission 4.0: kebab-case and
// camelCase); Transmission 4.1's snake_case names are accepted too. The
// newer JSON-RPC 2.0 form is served as well:
//
//	{"jsonrpc": "2.0", "method": "torrent_get", "params": {...}, "id": 1}
//
// answered with {"jsonrpc": "2.0", "result": {...}, "id": 1} (keys in
// snake_case) or {"jsonrpc": "2.0", "error": {"code": ..., "message": ...},
// "id": 1}; a request without an id is a notification and gets no body;
// an array is a batch.
//
// # CSRF handshake
//
// Every request must carry the header X-Transmission-Session-Id with the
// daemon's current session id. A request without it (or with a stale one)
// changes nothing and is answered 409 Conflict with the id in that header,
// as Transmission does; the client retries with it. The id is random per
// handler (per daemon run).
//
// # Errors
//
// Bad JSON, wrong types, unknown methods or argument keys, ids that name
// no torrent and values Hearth cannot honour are answered with an error
// "result" (or a JSON-RPC error) and change nothing (one exception:
// torrent-add of a channel link whose first version is still being
// resolved subscribes and says so in its error result; see channel.go); a body over the size
// limit gets 413. Unknown names in torrent-get's and session-get's
// "fields" are skipped, as Transmission does, so clients written for newer
// versions keep working. Settings Transmission has and Hearth does not
// (blocklists, scripts, LPD, …) are reported with their fixed value, and a
// session-set that keeps that value is accepted; one that changes it is an
// error naming the key.
//
// Authentication, the Host allow-list and client allow-lists are not here:
// the web package mounts this handler behind them.
package transmission
