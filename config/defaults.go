package config

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultProfile applies when no flag, environment variable or file names one.
const DefaultProfile = "desktop"

// Profiles lists the device profiles Default knows, smallest device first.
func Profiles() []string { return []string{"router", "nas", "tv", "desktop"} }

// Default returns the built-in configuration of a device profile (router,
// nas, tv or desktop): everything needed to run with no file at all. The
// data directory comes from $XDG_DATA_HOME or $HOME of this process.
func Default(profile string) (*Config, error) {
	return defaults(profile, os.Getenv)
}

func defaults(profile string, getenv func(string) string) (*Config, error) {
	c := &Config{
		Version: CurrentVersion,
		Profile: profile,
		DataDir: defaultDataDir(getenv),
		// Every interface, on Transmission's port (remotes assume 9091):
		// a device is controlled from phones and PCs on the LAN. Callers
		// other than the device itself need a password or a paired token
		// (access section, docs/access.md).
		Listen: ":9091",
		Log:    Log{Level: "info", Format: "text"},
		Torrent: Torrent{
			PeerPort: 51413, // the customary BitTorrent port (Transmission's), often already forwarded
			DHT:      true,
			// Off: UPnP opens a hole in the home router's firewall. A device
			// must not do that silently just because it was plugged in; the
			// owner turns it on in the UI or the file, knowing what it does.
			PortForwarding: false,
			Encryption:     "prefer",
			// Off: uTP keeps per-connection buffers and a UDP packet loop
			// whose memory and CPU a small device cannot spare (FIELD-NOTES
			// lists DisableUTP among the memory knobs), and TCP reaches
			// nearly every peer. Kept off on every profile so that all
			// devices behave alike; a desktop may turn it on.
			UTP:  false,
			IPv6: true,
		},
		Store: Store{Backend: "auto"}, // badger on 64-bit CPUs, bbolt on 32-bit (badger loses data there)
		Limits: Limits{
			AltDownloadKBps: 50, AltUploadKBps: 50, // Transmission's turtle defaults
			AltBegin: "09:00", AltEnd: "17:00", AltDays: "all",
		},
		Access: Access{TrustLoopback: true, Pairing: true},
		Device: Device{Model: "Hearth", MDNS: true},
		// No pins: which ones a board wires is the firmware's to say. A
		// button usually closes to ground against a pull-up.
		GPIO: GPIO{ButtonActiveLow: true},
		// No mail server: which one to use, and its password, are the owner's.
		Share: Share{SMTPTLS: "starttls", OutsidePort: 9092},
		Channels: Channels{
			PollInterval: 15 * time.Minute, // a family channel changes a few times a day; DHT lookups cost a few KB each
			Republish:    time.Hour,        // BEP 44 nodes drop items after about 2 hours
			DHTItems:     1000,
			LAN:          true,
			KeepRemoved:  true, // a publisher's mistake must not delete a subscriber's photos
		},
	}
	// The numbers below size the engine's buffers and the state store. The
	// anacrolix defaults (50 conns, 25/100 half-open, 500/50 peers, 1 MiB
	// request buffer, 64 MiB unverified, 2 hashers) are the desktop row;
	// seeding 50 torrents with them took 41 MB RSS (peak 51) against 22-29
	// MB tuned (FIELD-NOTES), so smaller devices scale them down.
	switch profile {
	case "router":
		// Plaintext first, encryption accepted: peers that prefer
		// encryption (qBittorrent's default) otherwise get RC4 on every
		// byte. Measured on the 1 GiB bench (bench/RESULTS.md): RC4 was
		// 45 % of Hearth's CPU; "tolerate" took 61.7 -> 116.7 MB/s and
		// 7.9 -> 3.6 CPU s. A weak router CPU feels that most. Set
		// "prefer" where an ISP throttles BitTorrent.
		c.Torrent.Encryption = "tolerate"
		c.Device.Model = "Hearth Router"
		// 64 MB of RAM shared with the routing itself, a slow CPU and slow,
		// wear-prone flash. Hearth's own memory (heap and stacks: what the
		// kernel cannot take back) must stay under ~40 MiB whatever happens.
		// The binary's code and read-only data are file-backed pages the
		// kernel drops under pressure and reads back from flash; they are
		// reported apart (docs/reliability.md) and not counted here.
		c.Torrent.ConnsPerTorrent = 15   // a handful of good peers saturates a home uplink
		c.Torrent.HalfOpenPerTorrent = 8 // each attempt costs a socket and a conntrack entry on the router itself
		c.Torrent.HalfOpenTotal = 24     // the router's conntrack table serves the whole household
		c.Torrent.PeersHighWater = 100   // known-peer lists cost memory per torrent
		c.Torrent.PeersLowWater = 20     // ask DHT/trackers again before the list runs dry
		c.Torrent.RequestBufferKiB = 256 // 16 blocks queued per peer: 15 peers × 256 KiB ≈ 4 MiB worst case
		c.Torrent.UnverifiedMiB = 8      // bounds RAM held by pieces waiting for the (slow) hasher
		c.Torrent.Hashers = 1            // one core, often; hashing competes with routing
		c.Torrent.ReadAheadKiB = 1024    // streaming from a router is for audio or SD video
		c.Queue.MaxDownloads = 2         // flash writes and RAM scale with active downloads
		c.Queue.MaxSeeds = 5             // each seeding torrent keeps peers and buffers
		c.Store.MemTableMiB = 2          // badger (arm64 routers only) keeps 2 memtables: 4 MiB
		c.Store.ValueLogMiB = 8          // the value log is memory-mapped; small files keep RSS small
		c.Store.BlockCacheMiB = 0        // state is small and read at start-up; a cache would only cost RAM
		c.Memory.LimitMiB = 40           // soft GC target inside 64 MB, leaving room for the OS and routing
		c.Memory.GCPercent = 50          // collect at 1.5x the live heap, not 2x: the peak under 50 API clients on 1,000 torrents fell 34.4 -> 28.2 MiB
		c.Channels.DHTItems = 200        // ≤ 1000 bytes each plus keys: well under 1 MiB
	case "nas":
		c.Torrent.Encryption = "tolerate" // NAS CPUs are small ARM cores too; see the router case
		c.Device.Model = "Hearth NAS"
		// 256 MB or more, disks, on 24/7, serving media to the house: room
		// for more peers and a bigger read-ahead, still far from a desktop.
		c.Torrent.ConnsPerTorrent = 40
		c.Torrent.HalfOpenPerTorrent = 15
		c.Torrent.HalfOpenTotal = 60
		c.Torrent.PeersHighWater = 300
		c.Torrent.PeersLowWater = 40
		c.Torrent.RequestBufferKiB = 512
		c.Torrent.UnverifiedMiB = 32  // disks absorb bursts; the hasher keeps up on ARMv8/x86
		c.Torrent.Hashers = 2         // NAS CPUs have 2-4 cores
		c.Torrent.ReadAheadKiB = 4096 // LAN streaming to TVs: several seconds of HD video
		c.Queue.MaxDownloads = 4      // disk seeks, not RAM, are the limit
		c.Queue.MaxSeeds = 20         // a NAS is the household's seedbox
		c.Store.MemTableMiB = 8       // 2 memtables = 16 MiB
		c.Store.ValueLogMiB = 32
		c.Store.BlockCacheMiB = 8 // many torrents: cache the hot part of the state
		c.Memory.LimitMiB = 192   // leaves the rest of 256 MB to the NAS's file serving
	case "tv":
		c.Device.Model = "Hearth TV"
		// 1-2 GB shared with the media player and the vendor's UI, eMMC
		// flash, streaming is the main use, upload is a side effect.
		c.Torrent.ConnsPerTorrent = 30
		c.Torrent.HalfOpenPerTorrent = 10
		c.Torrent.HalfOpenTotal = 40
		c.Torrent.PeersHighWater = 200
		c.Torrent.PeersLowWater = 30
		c.Torrent.RequestBufferKiB = 512
		c.Torrent.UnverifiedMiB = 16
		c.Torrent.Hashers = 2
		c.Torrent.ReadAheadKiB = 8192 // ~6 s of a 10 Mbit/s stream: playback survives a slow peer
		c.Queue.MaxDownloads = 2      // what is watched now gets the bandwidth
		c.Queue.MaxSeeds = 5          // the player, not seeding, owns the TV's RAM and Wi-Fi
		c.Store.MemTableMiB = 4       // the values that worked in FIELD-NOTES (2 × 4 MiB)
		c.Store.ValueLogMiB = 16
		c.Store.BlockCacheMiB = 0
		c.Memory.LimitMiB = 128 // a guest on the TV: bounded so the player never swaps
	case "desktop":
		// Roomy: the engine's own defaults, which are tuned for PCs.
		c.Torrent.ConnsPerTorrent = 50
		c.Torrent.HalfOpenPerTorrent = 25
		c.Torrent.HalfOpenTotal = 100
		c.Torrent.PeersHighWater = 500
		c.Torrent.PeersLowWater = 50
		c.Torrent.RequestBufferKiB = 1024
		c.Torrent.UnverifiedMiB = 64
		c.Torrent.Hashers = 2
		c.Torrent.ReadAheadKiB = 8192
		c.Queue.MaxDownloads = 5 // Transmission's default download queue
		c.Queue.MaxSeeds = 0     // no limit: RAM is plentiful
		c.Store.MemTableMiB = 16 // Hearth's state is tiny next to badger's 64 MiB default
		c.Store.ValueLogMiB = 64
		c.Store.BlockCacheMiB = 32
		c.Memory.LimitMiB = 0 // the OS manages a desktop's memory
	default:
		return nil, badValue("profile", "%q is not one of %s", profile, strings.Join(Profiles(), ", "))
	}
	// Seeding never stops by ratio or idle time by default: the queue's
	// max_seeds bounds what seeding costs, and stopping is the owner's call.
	c.Queue.SeedRatio = 0
	c.Queue.SeedIdle = 0
	return c, nil
}

// defaultDataDir follows the XDG base directory spec: $XDG_DATA_HOME/hearth,
// else $HOME/.local/share/hearth, else ./hearth-data (a device with no home
// directory, started from its install folder). Relative XDG_DATA_HOME and
// HOME values are ignored, as the spec says.
func defaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "hearth")
	}
	if h := getenv("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "hearth")
	}
	return "./hearth-data"
}
