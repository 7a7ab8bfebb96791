// Package link parses and checks everything a user can hand the engine —
// magnet links, bare infohashes, .torrent files and URLs of .torrent files —
// before any of it reaches anacrolix/torrent.
//
// anacrolix/torrent v1.59.1 trusts its input: Client.AddMagnet panics on a
// magnet without an infohash or with a BEP 46 public key, its bencode decoder
// dies with a fatal (unrecoverable) stack overflow on deeply nested input,
// v2-only torrents misbehave, and its storage would create files whose names
// are "..", absolute or contain NUL. Every exported parser here refuses such
// input with an *Error whose message is one line a user can read; nothing in
// this package panics on input (the fuzz targets check that).
//
// What is accepted is BitTorrent v1 and hybrid (v1+v2) content, identified by
// its v1 (SHA-1) infohash. Limits are exported constants so callers can show
// them; they are sized for devices with 64–128 MB of RAM.
package link
