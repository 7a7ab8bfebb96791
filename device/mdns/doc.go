// Package mdns advertises a Hearth device on the LAN with multicast DNS
// and DNS-SD (RFC 6762, RFC 6763) and finds other devices.
//
// # What goes on the wire
//
// A device registers two services under one instance name, the friendly
// name (e.g. "Living-room NAS"):
//
//	<name>._hearth._tcp.local.  SRV  0 0 <port> hearth-<id>.local.
//	<name>._hearth._tcp.local.  TXT  id=<device id> name=<name> model=<model>
//	                                 ver=<version> api=/api/v1
//	                                 rpc=/transmission/rpc pair=0|1 [extra keys]
//	<name>._http._tcp.local.    SRV  0 0 <port> hearth-<id>.local.
//	<name>._http._tcp.local.    TXT  path=/ id=<device id>
//	hearth-<id>.local.          A/AAAA  the addresses of the interface asked on
//
// The host name is "hearth-" and the first 12 letters and digits of the id,
// so it never clashes with the box's own name (which avahi may hold) nor
// with another Hearth device.
//
// # Responder: zeroconf v1.0.0 and what Hearth adds
//
// github.com/grandcat/zeroconf answers queries and sends the announcements
// and goodbyes. It has no conflict handling, keeps no track of address
// changes, does not answer for its host name, and answers on whatever
// interface a query arrives on. The Advertiser adds, on its own mDNS
// socket:
//
//   - Probing: before taking a name it asks for it three times, 250 ms
//     apart, and waits half a second more; an answer from another host
//     makes it try "Name (2)", "Name (3)"… (RFC 6762 section 9).
//   - Verification and defence: after registering it asks for its name
//     twice more. Records for its name from another host after that are a
//     conflict between two registered devices; the one whose host name
//     (derived from the id) sorts lower keeps the name and answers again,
//     the other renames. Goodbyes and probes from others never make it
//     yield.
//   - Address changes: it polls the interfaces (Config.PollInterval, 5 s)
//     and registers again when their set, flags or addresses change.
//     zeroconf reads the interface's addresses whenever it answers, so
//     answers are always current; the new registration's announcements
//     (with the cache-flush bit) replace old addresses in caches.
//   - Updates (SetPairing, SetTXT) also register again: zeroconf's SetText
//     is a data race. The old registration's goodbye is followed within
//     half a second by the new announcements, so a browser that follows
//     RFC 6762 10.1 (a TTL-0 record lives one more second) never drops
//     the device.
//   - Host name: A/AAAA questions for hearth-<id>.local. are answered with
//     the addresses of the interface asked on, to mDNS and legacy unicast
//     askers.
//   - Confinement: one zeroconf server per interface and service, its
//     sockets bound to that interface (SO_BINDTODEVICE) and without
//     IP_MULTICAST_ALL, so a query reaching the box on an interface it was
//     not given (a router's WAN port, where avahi may listen) is never
//     answered there. That reaches into zeroconf's unexported fields; the
//     version is pinned and TestWANQueryUnanswered guards it.
//
// # Browser
//
// Browse and Watch are Hearth's own: a small RFC 6762 cache (TTLs, the
// one-second goodbye grace, cache-flush) fed by PTR queries at 0, 1, 3,
// 7 s… (doubling, at most a minute apart), asking an instance directly
// when its SRV, TXT or address is missing. zeroconf's browser reports an
// instance once, never its changes or removal, and drops answers whose
// address records come in a separate packet.
//
// Nothing here chooses interfaces implicitly: Start uses Config.Interfaces
// or the default rule of Interfaces, and Browse and Watch take the list.
package mdns
