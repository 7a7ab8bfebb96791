package link_test

import (
	"errors"
	"fmt"

	"github.com/hearth-media/hearth/engine/link"
)

func ExampleParseMagnet() {
	m, err := link.ParseMagnet("magnet:?xt=urn:btih:0123456789ABCDEF0123456789ABCDEF01234567&dn=My+Album&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=wss%3A%2F%2Fexample.invalid")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%x %q %q\n", m.InfoHash, m.Name, m.Trackers)
	fmt.Println(m)
	// Output:
	// 0123456789abcdef0123456789abcdef01234567 "My Album" ["udp://127.0.0.1:6969"]
	// magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=My+Album&tr=udp%3A%2F%2F127.0.0.1%3A6969
}

func ExampleParseMagnet_errors() {
	for _, s := range []string{
		"magnet:?dn=x",
		"magnet:?xs=urn:btpk:8543d3e6115f0f98c944077a4493dcd543e49c739fd998550a1f614ab36ed63e",
		"magnet:?xt=urn:btih:abcdef",
	} {
		_, err := link.ParseMagnet(s)
		var le *link.Error
		fmt.Println(errors.As(err, &le), errors.Is(err, link.ErrChannelLink), err)
	}
	// Output:
	// true false magnet link has no "xt=urn:btih:" infohash
	// true true a channel link (BEP 46 urn:btpk) is not a torrent: subscribe to the channel instead
	// true false infohash "abcdef" has 6 characters: want 40 hex digits or 32 base32 characters
}

func ExampleDetect() {
	for _, s := range []string{
		"magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567",
		"0123456789abcdef0123456789abcdef01234567",
		"https://127.0.0.1/a.torrent",
		"ftp://127.0.0.1/a.torrent",
	} {
		k, err := link.Detect(s)
		fmt.Println(k, err)
	}
	// Output:
	// magnet <nil>
	// infohash <nil>
	// url <nil>
	// unknown ftp: links are not supported: give a magnet link, an infohash or the http(s) URL of a .torrent file
}

func ExampleSafePath() {
	fmt.Println(link.SafePath([]string{"Album", "CD1", "01.flac"}))
	fmt.Println(link.SafePath([]string{"Album", "..", "..", "etc", "passwd"}))
	// Output:
	// <nil>
	// unsafe file path "Album/../../etc/passwd": component ".." is not allowed
}
