// Package config holds Hearth's configuration: one struct with sections,
// built-in defaults per device profile, and the layers that override them
// (config file, runtime settings saved through the API, environment,
// command-line flags — later ones win). It imports only the standard library.
package config

import "time"

// CurrentVersion is the config file format version this build writes.
const CurrentVersion = 1

// Config is the whole configuration of a Hearth daemon. Every field has a
// `key` tag (its name in files, `hearth config` and HEARTH_* environment
// variables) and a `help` tag. A zero Config is never used: start from
// Default(profile).
type Config struct {
	// Version of the config format (migrations run on load).
	Version int `key:"version" help:"config format version"`
	// Profile names the device profile whose defaults apply: router, nas, tv, desktop.
	Profile string `key:"profile" help:"device profile: router, nas, tv or desktop"`
	// DataDir holds the state store and, unless download_dir says otherwise, downloads.
	DataDir string `key:"data_dir" help:"directory for state and downloads"`
	// Listen is the HOST:PORT of the web UI and API.
	Listen string `key:"listen" help:"address of the web UI and API (HOST:PORT)"`

	Log      Log      `key:"log"`
	Torrent  Torrent  `key:"torrent"`
	Limits   Limits   `key:"limits"`
	Queue    Queue    `key:"queue"`
	Store    Store    `key:"store"`
	Memory   Memory   `key:"memory"`
	Access   Access   `key:"access"`
	Channels Channels `key:"channels"`
	Device   Device   `key:"device"`
	GPIO     GPIO     `key:"gpio"`
	Share    Share    `key:"share"`
}

// Log configures logging.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `key:"level" help:"log level: debug, info, warn, error"`
	// Format is text or json.
	Format string `key:"format" help:"log format: text or json"`
}

// Torrent configures the BitTorrent engine.
type Torrent struct {
	// PeerPort is the TCP/UDP port peers connect to (0 picks a free one).
	PeerPort int `key:"peer_port" help:"port for incoming peer connections (0 = any free port)"`
	// DownloadDir is where new torrents are saved; empty means DATA_DIR/downloads.
	DownloadDir string `key:"download_dir" help:"default folder for downloads (empty = DATA_DIR/downloads)"`
	// DHT enables the mainline DHT.
	DHT bool `key:"dht" help:"use the BitTorrent DHT to find peers"`
	// DHTBootstrap lists host:port DHT nodes to start from; empty uses the public routers.
	DHTBootstrap []string `key:"dht_bootstrap" help:"DHT bootstrap nodes (host:port, comma separated; empty = public routers)"`
	// PortForwarding asks the home router for a port mapping (UPnP/NAT-PMP).
	PortForwarding bool `key:"port_forwarding" help:"ask the router to forward the peer port (UPnP)"`
	// Encryption is prefer, require or tolerate (BEP: MSE/PE).
	Encryption string `key:"encryption" help:"peer encryption: prefer, require or tolerate"`
	// UTP enables uTP (UDP) peer connections.
	UTP bool `key:"utp" help:"allow uTP (UDP) peer connections"`
	// IPv6 enables IPv6 peers.
	IPv6 bool `key:"ipv6" help:"allow IPv6 peers"`
	// ConnsPerTorrent caps established peer connections per torrent.
	ConnsPerTorrent int `key:"conns_per_torrent" help:"established peer connections per torrent"`
	// HalfOpenPerTorrent caps outgoing connection attempts per torrent.
	HalfOpenPerTorrent int `key:"half_open_per_torrent" help:"connection attempts in progress per torrent"`
	// HalfOpenTotal caps outgoing connection attempts in total.
	HalfOpenTotal int `key:"half_open_total" help:"connection attempts in progress in total"`
	// PeersHighWater is how many known peers a torrent keeps at most.
	PeersHighWater int `key:"peers_high_water" help:"known peers kept per torrent at most"`
	// PeersLowWater is when a torrent asks trackers/DHT for more peers.
	PeersLowWater int `key:"peers_low_water" help:"ask for more peers below this many"`
	// RequestBufferKiB caps memory allocated to serve one peer's requests.
	RequestBufferKiB int `key:"request_buffer_kib" help:"memory for one peer's pending upload requests (KiB)"`
	// UnverifiedMiB caps downloaded-but-unhashed data held per torrent.
	UnverifiedMiB int `key:"unverified_mib" help:"downloaded data not yet hashed, per torrent (MiB)"`
	// Hashers is how many pieces a torrent hashes at once.
	Hashers int `key:"hashers" help:"pieces hashed at once per torrent"`
	// IncompleteDir, when set, holds torrents while they download; they
	// move to their download folder when complete.
	IncompleteDir string `key:"incomplete_dir" help:"folder for unfinished downloads, moved to download_dir when complete (empty = off)"`
	// ReadAheadKiB is the read-ahead window when streaming a file.
	ReadAheadKiB int `key:"read_ahead_kib" help:"read-ahead window for streaming (KiB)"`
}

// Limits are global transfer rate limits; 0 means unlimited.
type Limits struct {
	DownloadKBps int `key:"download_kbps" help:"global download limit in KB/s (0 = unlimited)"`
	UploadKBps   int `key:"upload_kbps" help:"global upload limit in KB/s (0 = unlimited)"`
	// Alternative ("turtle") limits apply instead while AltEnabled is on,
	// or during the schedule when AltScheduled is on.
	AltDownloadKBps int  `key:"alt_download_kbps" help:"alternative download limit in KB/s (0 = unlimited)"`
	AltUploadKBps   int  `key:"alt_upload_kbps" help:"alternative upload limit in KB/s (0 = unlimited)"`
	AltEnabled      bool `key:"alt_enabled" help:"use the alternative limits now"`
	AltScheduled    bool `key:"alt_scheduled" help:"use the alternative limits between alt_begin and alt_end on alt_days"`
	// AltBegin and AltEnd are local times HH:MM; an end before the begin spans midnight.
	AltBegin string `key:"alt_begin" help:"start of the alternative-limits period (HH:MM, local time)"`
	AltEnd   string `key:"alt_end" help:"end of the alternative-limits period (HH:MM, local time)"`
	// AltDays is all, weekdays, weekend, or a comma list of mon…sun.
	AltDays string `key:"alt_days" help:"days of the schedule: all, weekdays, weekend or a list like mon,wed,sat"`
}

// Queue decides how many torrents run at once and when seeding stops.
type Queue struct {
	// MaxDownloads is how many torrents download at once; the rest wait in order (0 = no limit).
	MaxDownloads int `key:"max_downloads" help:"torrents downloading at once (0 = no limit)"`
	// MaxSeeds is how many finished torrents seed at once (0 = no limit).
	MaxSeeds int `key:"max_seeds" help:"torrents seeding at once (0 = no limit)"`
	// SeedRatio stops seeding when uploaded/size reaches it (0 = never).
	SeedRatio float64 `key:"seed_ratio" help:"stop seeding at this upload ratio (0 = never)"`
	// SeedIdle stops seeding after this long without uploading (0 = never).
	SeedIdle time.Duration `key:"seed_idle" help:"stop seeding after this long with no upload (0 = never)"`
}

// Store configures the state store (Badger on 64-bit CPUs, bbolt on 32-bit).
type Store struct {
	// Backend is auto, badger or bbolt. auto picks badger on 64-bit builds and bbolt on 32-bit.
	Backend string `key:"backend" help:"state store: auto, badger (64-bit only) or bbolt"`
	// MemTableMiB is Badger's memtable size.
	MemTableMiB int `key:"memtable_mib" help:"Badger memtable size (MiB)"`
	// ValueLogMiB is Badger's value-log file size.
	ValueLogMiB int `key:"value_log_mib" help:"Badger value-log file size (MiB)"`
	// BlockCacheMiB is Badger's block cache (0 = none).
	BlockCacheMiB int `key:"block_cache_mib" help:"Badger block cache (MiB, 0 = none)"`
}

// Memory bounds the process.
type Memory struct {
	// LimitMiB is the Go runtime soft memory limit (GOMEMLIMIT); 0 = none.
	LimitMiB int `key:"limit_mib" help:"Go soft memory limit (MiB, 0 = none)"`
	// GCPercent is the Go collector's heap growth between collections
	// (GOGC); 0 = the runtime's default (100, or $GOGC when set).
	GCPercent int `key:"gc_percent" help:"heap growth before the Go collector runs again, percent (GOGC; 0 = Go's default 100; $GOGC overrides)"`
}

// Access decides who may control the daemon through its web UI, API and
// Transmission RPC.
type Access struct {
	// TrustLoopback lets callers on the device itself in without credentials.
	TrustLoopback bool `key:"trust_loopback" help:"callers on this device (loopback) need no password or pairing"`
	// AllowedHosts are extra names the Host header may carry (besides IP
	// literals, localhost, the device's own names and *.local), against DNS rebinding.
	AllowedHosts []string `key:"allowed_hosts" help:"extra host names clients may use to reach the device (comma separated)"`
	// Clients, when set, is the only addresses (IPs or CIDRs) that may connect at all.
	Clients []string `key:"clients" help:"client addresses allowed to connect, IPs or CIDRs (comma separated; empty = any, credentials still required)"`
	// Pairing lets phones and TVs ask to pair (the owner confirms with a code or the button).
	Pairing bool `key:"pairing" help:"let phones and TVs ask to pair with a code shown on the device"`
}

// Channels configures publishing and following BEP 46 channels.
type Channels struct {
	// PollInterval is how often a subscription asks the DHT for a new version (jittered).
	PollInterval time.Duration `key:"poll_interval" help:"how often subscriptions look for a new version"`
	// Republish is how often the latest signed item of each channel is put into the DHT again.
	Republish time.Duration `key:"republish" help:"how often channel items are put into the DHT again (they expire)"`
	// DHTItems caps the BEP 44 items this node stores for others.
	DHTItems int `key:"dht_items" help:"DHT items stored for other nodes at most (bounds memory)"`
	// LAN finds other Hearth devices on the local network for channels (mDNS).
	LAN bool `key:"lan" help:"sync channels directly with Hearth devices on the local network"`
	// KeepRemoved keeps files the publisher removed (per subscription it can be changed).
	KeepRemoved bool `key:"keep_removed" help:"keep files a channel's publisher removed (default for new subscriptions)"`
}

// Device describes the box on its local network.
type Device struct {
	// Name is what phones and other devices show; empty means the model and
	// host name, e.g. "Hearth NAS (attic)".
	Name string `key:"name" help:"friendly device name shown on the LAN (empty = model and host name)"`
	// Model is the kind of device, advertised over mDNS.
	Model string `key:"model" help:"device model advertised on the LAN"`
	// MDNS advertises the device (and finds other Hearth devices) over mDNS.
	MDNS bool `key:"mdns" help:"advertise the device on the LAN with mDNS/DNS-SD and find other Hearth devices (channels and torrents in common sync directly)"`
	// Interfaces limits mDNS to these network interfaces; empty means every
	// up, multicast interface with a private or link-local address. Routers
	// must name their LAN bridge (e.g. br-lan) so the WAN port never advertises.
	Interfaces []string `key:"interfaces" help:"network interfaces for mDNS (comma separated; empty = private-address interfaces)"`
}

// GPIO maps the box's button and LEDs to pins (docs/device.md). A pin is
// named as the GPIO driver knows it: a line name such as "GPIO17" (the
// kernel's gpio-line-names, see gpioinfo) or a sysfs number. Empty means
// no such part; with no pins at all the feature is off.
type GPIO struct {
	// Button is the input pin of the push button: short press pauses or
	// resumes everything, 3 s opens pairing, 10 s and a confirming press
	// resets pairing and the password.
	Button string `key:"button" help:"pin of the push button (e.g. GPIO17; empty = none)"`
	// ButtonActiveLow: the button pulls the pin to ground when pressed
	// (the usual wiring, with a pull-up), so low means pressed.
	ButtonActiveLow bool `key:"button_active_low" help:"the button reads low when pressed (wired to ground)"`
	// LEDStatus is the output pin of the status LED.
	LEDStatus string `key:"led_status" help:"pin of the status LED (e.g. GPIO27; empty = none)"`
	// LEDStatusActiveLow: the LED lights when the pin is low (wired to the supply).
	LEDStatusActiveLow bool `key:"led_status_active_low" help:"the status LED lights when its pin is low"`
	// LEDSecond is an optional second LED that shows errors, pairing and a
	// pending reset, leaving the status LED to show activity.
	LEDSecond string `key:"led_second" help:"pin of a second LED for errors and pairing (empty = none)"`
	// LEDSecondActiveLow: the second LED lights when its pin is low.
	LEDSecondActiveLow bool `key:"led_second_active_low" help:"the second LED lights when its pin is low"`
}

// Share configures share links (docs/share.md): the mail server the daemon
// sends messages about shares through. With no server, "hearth share
// email" writes an .eml file and prints a mailto: link instead.
type Share struct {
	// SMTP is the HOST:PORT of the mail server; empty means none.
	SMTP string `key:"smtp" help:"mail server for share emails, HOST:PORT (empty = none: share email writes an .eml file)"`
	// SMTPFrom is the sender address of share emails, needed with SMTP.
	SMTPFrom string `key:"smtp_from" help:"sender address of share emails (needed with share.smtp)"`
	// SMTPUser logs in to the server (PLAIN, over TLS only); empty: no login.
	SMTPUser string `key:"smtp_user" help:"user name on the mail server (empty = no login)"`
	// SMTPPasswordFile holds the password (one line). The password itself is
	// never a key, so that "hearth config" and the API cannot show it.
	SMTPPasswordFile string `key:"smtp_password_file" help:"file holding the mail server password (needed with share.smtp_user)"`
	// SMTPTLS is starttls (the server offers STARTTLS; refused without it
	// except on loopback) or tls (TLS from the first byte, usually port 465).
	SMTPTLS string `key:"smtp_tls" help:"how to reach the mail server: starttls or tls (port 465)"`
	// SMTPCAFile is a PEM file of certificates to trust for the mail server
	// instead of the system's (a self-signed server); certificates are
	// always verified.
	SMTPCAFile string `key:"smtp_ca_file" help:"PEM certificates to trust for the mail server instead of the system roots (empty = system roots)"`
	// Outside asks the home router (NAT-PMP, else UPnP-IGD) to forward OutsidePort to
	// this device, so that share links work from outside the home. Off:
	// opening a port to the internet is the owner's decision.
	Outside bool `key:"outside" help:"ask the router (NAT-PMP or UPnP-IGD) for a port so that share links work from outside the home"`
	// OutsidePort is the port of the share pages for outside links: a
	// listener that serves share pages only, never the control API.
	OutsidePort int `key:"outside_port" help:"port of the share-pages-only listener that outside links reach"`
	// Gateway is the router to ask; empty means the default route's gateway.
	Gateway string `key:"gateway" help:"router address for the port mapping, IP or IP:PORT (empty = the default gateway)"`
}
