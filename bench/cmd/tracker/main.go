// Command tracker runs the test tracker (engine/enginetest/tracker) for
// bench/transfer.sh: announces at /announce, and /peers?info_hash=HEX
// lists what it knows as "ADDR seeder|leecher" lines so the script can
// wait for its seeder.
package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/hearth-media/hearth/engine/enginetest/tracker"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:6969", "address to listen on")
	interval := flag.Duration("interval", 5*time.Second, "announce interval given to clients")
	flag.Parse()

	tr := tracker.New()
	tr.Interval = *interval
	mux := http.NewServeMux()
	mux.Handle("/announce", tr)
	mux.HandleFunc("/peers", func(w http.ResponseWriter, r *http.Request) {
		b, err := hex.DecodeString(r.URL.Query().Get("info_hash"))
		if err != nil || len(b) != 20 {
			http.Error(w, "info_hash: want 40 hex digits", http.StatusBadRequest)
			return
		}
		for _, p := range tr.Peers([20]byte(b)) {
			kind := "leecher"
			if p.Seeder {
				kind = "seeder"
			}
			fmt.Fprintf(w, "%s %s\n", p.Addr, kind)
		}
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("tracker on http://%s/announce", l.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(l))
}
