// Package mutable is Hearth's DHT layer for channels: signed BEP 44
// mutable items carrying BEP 46 values, over anacrolix's DHT
// (github.com/anacrolix/dht/v2), with every reply checked.
//
// # Protocol
//
// A channel is an ed25519 key pair. Its head lives in the BitTorrent DHT
// as a BEP 44 mutable item under the target SHA-1(public key + salt):
// the value is the BEP 46 dictionary {"ih": <20-byte infohash>}
// (InfohashValue), seq is the channel version and grows with each
// publish, and the signature covers "4:salt<len>:<salt>" (only when the
// salt is not empty) + "3:seqi<seq>e1:v" + the bencoded value
// (SignedBuffer). Anyone may put a signed item again unchanged, so
// subscribers keep the head alive while the owner is away; only the key
// can make a new one. Nodes drop items not put again within about two
// hours.
//
// A DHT reply is trusted only after Item.Verify and a target check:
// anacrolix's own getput.Get dereferences a missing seq and crashes, so
// Get runs its own traversal (anacrolix's traversal package) and ignores
// replies without seq, with a short or wrong key, a bad signature, an
// oversized value or a seq below what the caller asked for.
//
// # Serving others
//
// A DHT node also stores items for others. ConfigureServer (for
// engine.Options.ConfigureDHT) bounds that store in memory (Store),
// sets the item lifetime the torrent client leaves at zero, gives the
// node its own send limiter, drops queries without arguments, which
// crash anacrolix v2.23.0, and queries of unknown methods, whose names
// anacrolix keeps forever in a process-global expvar map, and keeps the peers announced to the node for
// get_peers (PeerStore, bounded too; the torrent client gives its node
// none). Every DHT node of a Hearth process needs it, channels or not.
//
// # Use
//
//	// Wiring: engine.New(engine.Options{…, ConfigureDHT:
//	//     mutable.ConfigureServer(cfg.Channels.DHTItems, nil)}).
//	s := eng.DHT() // nil when the DHT is off
//
//	// Owner: publish version 8 of a channel.
//	it, err := mutable.Sign(priv, salt, 8, mutable.InfohashValue(ih))
//	n, err := mutable.Put(ctx, s, it) // n nodes stored it
//
//	// Subscriber at version 7: is there something newer?
//	it, err := mutable.Get(ctx, s, pub, salt, 8)
//	if errors.Is(err, mutable.ErrNotFound) { /* nothing newer (yet) */ }
//	ih, err := mutable.ParseInfohashValue(it.Value)
//
//	// Anyone holding the latest item: keep it alive (hourly).
//	_, err = mutable.Put(ctx, s, it) // ErrOutdated if a newer one exists
//
// Tests and benchmarks run a private DHT on loopback with package
// mutabletest.
package mutable
