package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hearth-media/hearth/config"
)

func ExampleLoad() {
	dir, err := os.MkdirTemp("", "hearth-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "hearth.conf")
	os.WriteFile(file, []byte("profile = router\n\n[queue]\nmax_seeds = 3\n"), 0o600)

	c, sources, err := config.Load(config.LoadOptions{
		File:    file,
		Env:     []string{"HOME=/home/pi", "HEARTH_PEER_PORT=6881"},
		Flags:   map[string]string{"log.level": "debug"},
		Runtime: map[string]string{"queue.max_seeds": "4"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"profile", "data_dir", "torrent.peer_port", "torrent.conns_per_torrent", "queue.max_seeds", "log.level"} {
		v, _ := c.Get(key)
		src := sources[key]
		if src.Kind == config.SourceFile {
			src.Detail = filepath.Base(src.Detail) // the temp dir varies
		}
		fmt.Printf("%s = %s (%s)\n", key, v, src)
	}
	// Output:
	// profile = router (file hearth.conf:1)
	// data_dir = /home/pi/.local/share/hearth (default profile router)
	// torrent.peer_port = 6881 (env HEARTH_PEER_PORT)
	// torrent.conns_per_torrent = 15 (default profile router)
	// queue.max_seeds = 4 (api saved setting)
	// log.level = debug (flag --log.level)
}
