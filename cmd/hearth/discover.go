package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
)

// maxDiscoverTimeout bounds --timeout: discovery is a glance at the LAN.
const maxDiscoverTimeout = time.Minute

func cmdDiscover() *command {
	return &command{
		name:  "discover",
		args:  "[--timeout DURATION] [--json] [--interface NAME]...",
		short: "list Hearth devices on the local network (mDNS)",
		long: `
Ask the local network with multicast DNS (DNS-SD type _hearth._tcp) which
Hearth devices are there, listen for --timeout, and list each one: its name,
address, port, Hearth version and whether pairing is open (a phone or
computer may pair now; see "hearth pair"). Needs no daemon: it asks the
network itself.

It asks on every up interface with a private or link-local address (not
loopback, not PPP or VPN tunnels, not names starting with wan, ppp, wwan,
docker, veth or virbr); --interface names the interfaces instead. Nothing
leaves the local link: mDNS is link-local multicast (224.0.0.251,
ff02::fb). Devices on another subnet or behind a router are not seen.

The address to use for a device is http://ADDRESS:PORT, e.g. as --api for
the other commands.`,
		example: `
hearth discover
hearth discover --timeout 5s --interface eth0
hearth discover --json | jq -r '.devices[] | "http://\(.addrs[0]):\(.port)"'`,
		setup: func(fs *flag.FlagSet, c *cli) func(context.Context, []string) error {
			timeout := fs.Duration("timeout", 3*time.Second, "how long to listen for answers")
			asJSON := fs.Bool("json", false, "print {\"devices\": [...]} with every field and TXT key")
			var ifaces stringList
			fs.Var(&ifaces, "interface", "`NAME` of a network interface to ask on; repeat for several (default: the private LAN interfaces)")
			return func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return usageErrorf("discover takes no arguments, got %q", args[0])
				}
				if *timeout <= 0 || *timeout > maxDiscoverTimeout {
					return usageErrorf("--timeout %v: want more than 0 and at most %v", *timeout, maxDiscoverTimeout)
				}
				ifs, err := mdns.Interfaces(ifaces)
				if errors.Is(err, mdns.ErrConfig) {
					return usageErrorf("%s", strings.TrimPrefix(err.Error(), mdns.ErrConfig.Error()+": "))
				}
				if err != nil {
					return err
				}
				if len(ifs) == 0 {
					if len(ifaces) > 0 {
						return fmt.Errorf("interface %s is down or cannot multicast", strings.Join(ifaces, ", "))
					}
					return errors.New("no LAN interface to ask on (none is up with a private address); name one with --interface")
				}
				bctx, cancel := context.WithTimeout(ctx, *timeout)
				defer cancel()
				devices, err := mdns.Browse(bctx, mdns.ServiceHearth, ifs)
				if err != nil {
					return err
				}
				if *asJSON {
					if devices == nil {
						devices = []mdns.Entry{}
					}
					return writeJSON(c.stdout, struct {
						Devices []mdns.Entry `json:"devices"`
					}{devices})
				}
				if len(devices) == 0 {
					names := make([]string, len(ifs))
					for i, ifi := range ifs {
						names[i] = ifi.Name
					}
					fmt.Fprintf(c.stdout, "no Hearth device answered within %v on %s\n", *timeout, strings.Join(names, ", "))
					return nil
				}
				fmt.Fprint(c.stdout, discoverTable(devices, termWidth(c.stdout)))
				return nil
			}
		},
	}
}

// discoverTable is the table "hearth discover" prints.
func discoverTable(devices []mdns.Entry, width int) string {
	header := []string{"NAME", "ADDRESS", "PORT", "VERSION", "PAIRING"}
	right := []bool{false, false, true, false, false}
	rows := make([][]string, 0, len(devices))
	for _, d := range devices {
		pairing := "closed"
		if d.PairingOpen {
			pairing = "open"
		}
		version := d.Version
		if version == "" {
			version = "-"
		}
		rows = append(rows, []string{oneLine(d.Instance), addrCell(d.Addrs), fmt.Sprint(d.Port), oneLine(version), pairing})
	}
	return table(header, rows, right, width)
}

// addrCell shows the first IPv4 address (else the first one) and how many
// more there are.
func addrCell(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "-"
	}
	best := addrs[0]
	for _, a := range addrs {
		if a.Is4() {
			best = a
			break
		}
	}
	if len(addrs) == 1 {
		return best.String()
	}
	return fmt.Sprintf("%s (+%d)", best, len(addrs)-1)
}
