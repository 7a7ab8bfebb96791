// Package device is Hearth's presence on the LAN and on the box itself:
// mDNS/DNS-SD advertisement so phones and other Hearth devices find the
// device without anyone typing an address (package device/mdns), and the
// box's push button and LEDs on GPIO pins (package device/gpio, with
// periph.io; docs/device.md says what the presses and patterns mean).
//
// Nothing under device imports the engine or web: the daemon
// (cmd/hearth/serve.go) connects them, e.g. it starts an mdns.Advertiser
// with the device id it keeps in its store and calls SetPairing when
// pairing opens, and turns button presses into engine and pairing calls
// (cmd/hearth/serve_gpio.go).
//
// # mDNS in one paragraph
//
// device/mdns advertises two DNS-SD services on the chosen LAN interfaces:
// _hearth._tcp, whose TXT record says what the device is (id, name, model,
// version, API and RPC paths, whether pairing is open), and _http._tcp for
// the web UI, so generic Bonjour browsers list it too. It renames itself
// "Name (2)" when another device holds the name, announces again when its
// addresses change, answers address questions for its own host name
// (hearth-<id>.local), and says goodbye on shutdown. Browse and Watch find
// devices ("hearth discover" uses Browse). docs/lan.md says what this
// reveals to the LAN and how to pick interfaces.
package device
