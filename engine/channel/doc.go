// Package channel publishes and follows channels: a collection of files
// (a family's photos) that one device publishes and any number of
// devices follow, each new version arriving on its own, with no server.
// docs/channels.md has the walk-through and the measurements behind the
// design.
//
// # Protocol
//
// A channel is an ed25519 key pair, kept by the publishing device, and
// an optional salt. Its link is a BEP 46 magnet:
//
//	magnet:?xs=urn:btpk:<64 hex digits of the public key>[&s=<hex salt>][&dn=<name>]
//
// Version N of a channel is a BitTorrent v1 torrent of its files. The
// publisher signs the BEP 46 value {"ih": <20-byte infohash>} as a BEP 44
// mutable item with seq = N and puts it into the DHT under SHA-1(public
// key + salt) (engine/mutable does the checked gets and puts). It puts it
// again every Republish; subscribers put the latest item they hold too,
// unchanged (BEP 44 allows it), so a channel stays reachable while its
// publisher is offline.
//
// A subscriber gets the item with the highest seq, checks it (key, salt,
// signature, size, a BEP 46 value, a seq above the one held: an older
// seq is a replay and an equal seq with another value a fork, both
// refused; within one lookup the best item is taken first and lower
// seqs, copies not updated yet, are ignored), fetches that torrent's metadata from peers without storing
// anything, checks it (below), and only then touches files.
//
// # Version layout
//
// A version's info dictionary is a plain v1 multi-file torrent that any
// client can download, with these rules, which a subscriber checks:
//
//   - name is "-" (anacrolix's "no folder"): the files land directly in
//     the subscription's folder;
//   - files are sorted by path and each one is followed by a BEP 47
//     padding file ".pad/<length>" (attr "p") up to the next piece
//     boundary, so every file starts on a piece boundary and its pieces —
//     its bytes and zeros — hash the same in every version, wherever it is;
//   - "hearth" is a dictionary {"sha256": 32 bytes per file, in order,
//     "v": 1}: the manifest. The infohash covers it, the signature covers
//     the infohash.
//
// Names are checked as for every torrent (link.ValidateInfo: nothing
// escapes the folder); the folders ".pad" and ".hearth-tmp" are
// reserved.
//
// # Updates move only what changed
//
// When version N+1 arrives, each of its files whose length, SHA-256 and
// piece hashes match a complete file of version N is reused: left in
// place, or hard-linked to its new path when it moved. The new torrent
// is added with those pieces marked verified (engine.AddRequest's
// VerifiedPieces), so they are neither downloaded nor hashed again; the
// other files are downloaded. Files the publisher removed are kept or
// deleted as the subscription says; a moved file's old path goes.
// Padding costs at most a piece per new file on the wire and on disk:
// anacrolix v1.59.1 does not know BEP 47 and stores and transfers
// padding like data (a publisher's padding files are sparse).
//
// # LAN
//
// The manager takes a LAN source (an interface: mDNS lives outside the
// engine) that returns items and peers for a channel target; items from
// it are checked exactly like the DHT's. Held returns what a LAN
// responder may hand to its neighbours, Offer takes an item pushed by one
// with the neighbour's BitTorrent address. That address goes to the
// install of the version besides the peers the manager's own lookups
// find (which may be none while the LAN's mDNS view churns), and to the
// fetch of its metadata while that runs: the fetch starts again with a
// peer offered late, a newer version offered stops it, and a fetch with
// no peer and no DHT says so in the log and gives up after 30 s, so the
// check is retried rather than waiting minutes on nobody.
package channel
