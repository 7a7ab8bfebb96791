package mdns_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hearth-media/hearth/device/mdns"
)

// The daemon advertises itself with the id it keeps in its store, and
// tells the advertiser when pairing opens.
func ExampleStart() {
	ctx := context.Background()
	a, err := mdns.Start(ctx, mdns.Config{
		ID:         "0a1b2c3d4e5f60718293a4b5c6d7e8f9", // mdns.NewID() once, then kept
		Model:      "Hearth NAS",
		Version:    "1.0.0",
		Port:       9091,
		Interfaces: []string{"br-lan"}, // a router: name the LAN side
	}, slog.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close() // goodbye packets
	a.SetPairing(true)
}

// A client lists the devices that answer within two seconds.
func ExampleBrowse() {
	ifaces, err := mdns.Interfaces(nil) // private LAN interfaces
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	devices, err := mdns.Browse(ctx, mdns.ServiceHearth, ifaces)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range devices {
		fmt.Println(d.Instance, d.Addrs, d.Port, d.Version, d.PairingOpen)
	}
}
