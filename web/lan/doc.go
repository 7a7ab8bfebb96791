// Package lan is the channels' LAN fast path: Hearth devices on one local
// network find which of them hold a channel, exchange its signed BEP 44
// item over HTTP, and connect their BitTorrent engines directly, with no
// DHT and no internet. The same neighbours also become peers of the
// ordinary torrents they have in common (Torrents in common, below).
//
// # Protocol
//
// Advertising. A device adds two keys to its _hearth._tcp mDNS TXT record
// (package device/mdns):
//
//	ch=<base64url of 6-byte tags, sorted>   or   ch=*
//	chv=<base64url of a 4-byte stamp>
//
// For every channel it publishes or follows (the target T = SHA-1 of the
// channel's public key and salt, as in BEP 44) the tag is the first 6
// bytes of HMAC-SHA256(key = T, message = "hearth lan channel tag v1\x00"
// || device id), where the device id is the record's id key. A device
// that knows the channel computes the tag for each neighbour's id and
// looks for it; a device that does not know the channel cannot tell what
// a tag stands for, nor that two devices' tags are the same channel (each
// device's tags differ). Up to 31 tags fit in one TXT string; with more
// channels the device advertises ch=* and neighbours ask it about any
// channel they look up. The stamp is a hash of the device id and every
// held (target, seq): it changes when the device gets or publishes a new
// version, which is what makes neighbours ask again.
//
// Asking. GET /lan/v1/items/<64 lowercase hex digits of a query token> on
// the device's API port (the SRV record's port), without credentials. The
// token is HMAC-SHA256(key = T, message = "hearth lan channel query
// v1\x00" || the asked device's id): only a device that knows the channel
// can make it, and the asked device, which computes the tokens of the
// channels it holds, finds T; a device that does not hold the channel
// learns nothing from the question (this matters for a device that
// advertises ch=* to be asked about everything), and a token is good for
// one device only. The answer is 200 with
//
//	{"key": "<64 hex>", "salt": "<hex>", "seq": N, "value": "<base64 of
//	 the bencoded BEP 46 value>", "sig": "<128 hex>", "peerPort": P,
//	 "target": "<40 hex>"}
//
// when the device holds the channel, 404 otherwise, 400 for a malformed
// token and 429 past the rate limits (5 requests a second per client
// address, burst 30; 50 a second in all). peerPort is the BitTorrent port;
// the peer address is the address the request went to.
//
// The LAN is untrusted transport: the answer is read strictly (one JSON
// object of known fields, at most 4 KiB, exact hex lengths) and the item
// must be for T and carry a valid signature; the channel manager then
// checks it again against the subscription (key, salt, higher seq). A
// neighbour is only contacted at addresses inside the networks of the
// interfaces being watched (a record can name any address), never through
// a proxy, and its redirects are not followed.
//
// Fast propagation. A Source watches _hearth._tcp (mdns.Watch). When a
// neighbour appears or its stamp changes, it fetches from it the items of
// the channels this device holds (and of those it looked up recently
// without finding them, e.g. a new subscription) that the neighbour
// advertises, and offers newer ones to the channel manager, which
// installs the version at once, asking the neighbour's BitTorrent address
// for it (its own lookup may not find the neighbour a moment later). An
// item equal to the one held is offered too when the neighbour gave a
// peer port: a fetch of that version with no peer, or dead ones, gets one. Lookup, the manager's regular poll, asks
// every neighbour advertising the target and returns the newest item and
// the neighbours' peer addresses.
//
// # Torrents in common
//
// With Options.Swarm set, a device asks each neighbour, in one request,
// which of its public, running, incomplete torrents the neighbour has:
//
//	POST /lan/v1/peers  {"tokens": ["<64 hex>", ...]}
//	200                 {"held": ["<64 hex>", ...], "peerPort": P}
//
// A token is HMAC-SHA256(key = the infohash, message = "hearth lan torrent
// query v1\x00" || the asked device's id), so the question names no
// infohash and a neighbour without the torrent cannot tell what it is
// about; at most 256 tokens, padded with random ones to a multiple of 16
// and sorted. The neighbour answers with the tokens it computes for its
// own public, running torrents (never a private one, BEP 27), and the
// asker adds the neighbour's LAN address and P as a peer of each. Asked:
// when a neighbour appears or moves, when a torrent to ask about shows up
// in the engine's list (read every 2 s while there are neighbours), and
// every Options.PeersInterval. The answer is read strictly (known fields,
// 20 KiB, only tokens asked, each once); a neighbour claiming a padding
// token is lying and its answer is dropped. The endpoint needs no
// credentials and has its own rate limits, the same as the items'.
//
// # What this reveals
//
// To every host on the link: that the device holds some channels and how
// many (up to 31), when that set or a version changes (the stamp), and
// nothing else — no public keys, targets, infohashes, names or sizes. To a
// host that knows a channel's key: which devices on the LAN hold it, their
// latest item (public anyway in the DHT) and their peer port. The HTTP
// exchange is plain text: a host that can read other hosts' unicast
// traffic (not the case on switched Ethernet or WPA2 Wi-Fi) would see the
// items, as it could see any BitTorrent traffic. BEP 14 local
// peer discovery, by contrast, multicasts infohashes to everyone. A
// torrent question tells a neighbour without the torrent only that the
// asker has some active torrents (about how many, to 16) and when one is
// added; a neighbour with the torrent learns that the asker wants it.
package lan
