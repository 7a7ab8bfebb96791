package link

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// The fuzz targets check that nothing panics and that whatever is accepted
// keeps the package's promises. Run one with
//
//	go test -run x -fuzz FuzzParseTorrent -fuzztime 60s ./engine/link
//
// Crashers land in testdata/fuzz/<Target>/ and then run with go test.

func magnetSeeds() []string {
	return []string{
		"magnet:?xt=urn:btih:" + hexIH,
		"magnet:?xt=urn:btih:" + b32IH + "&dn=x+y&tr=udp%3A%2F%2F127.0.0.1%3A6969&x.pe=[::1]:1",
		"magnet:?xt.1=urn:btih:" + hexIH + "&xt.2=urn:btmh:1220" + strings.Repeat("ab", 32) + "&tr=http://127.0.0.1/a;b",
		"magnet:?xs=urn:btpk:" + pk + "&s=01",
		"magnet:?xt=urn:btmh:1220" + strings.Repeat("ab", 32),
		"magnet:?dn=x",
		"magnet:?xt=urn:btih:" + hexIH + "&dn=%zz",
		"magnet:?xt=urn:btih:" + hexIH + "&x.pe=host.local:6881&x.pe=1.2.3.4:0&tr=wss://x",
		hexIH,
		b32IH,
		"http://127.0.0.1/x.torrent",
		"d4:infod4:name1:aee",
		"file:///etc/passwd",
	}
}

func FuzzParseMagnet(f *testing.F) {
	for _, s := range magnetSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMagnet(s)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ParseMagnet error %T %q: want a one-line *Error", err, err)
			}
			return
		}
		checkMagnetRoundTrip(t, m)
		if k, err := Detect(s); err != nil || (k != KindMagnet && k != KindInfoHash) {
			t.Fatalf("ParseMagnet accepts %q but Detect = %v, %v", s, k, err)
		}
		// anacrolix must read the canonical link the same way.
		am, err := metainfo.ParseMagnetUri(m.String())
		if err != nil || am.InfoHash != m.InfoHash {
			t.Fatalf("metainfo.ParseMagnetUri(%q) = %x, %v; want %x", m.String(), am.InfoHash, err, m.InfoHash)
		}
	})
}

func FuzzDetect(f *testing.F) {
	for _, s := range magnetSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := Detect(s)
		if err != nil {
			if k != 0 {
				t.Fatalf("Detect = %v with error %v", k, err)
			}
			var le *Error
			if !errors.As(err, &le) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("Detect error %T %q: want a one-line *Error", err, err)
			}
			return
		}
		_, perr := ParseMagnet(s)
		switch k {
		case KindChannel:
			if len(strings.TrimSpace(s)) <= MaxMagnetLen && !errors.Is(perr, ErrChannelLink) {
				t.Fatalf("Detect = channel but ParseMagnet = %v", perr)
			}
		case KindInfoHash:
			if perr != nil {
				t.Fatalf("Detect = infohash but ParseMagnet = %v", perr)
			}
		case KindMagnet:
			if errors.Is(perr, ErrChannelLink) {
				t.Fatalf("Detect = magnet but ParseMagnet says channel")
			}
		case KindURL:
			if lower := strings.ToLower(strings.TrimSpace(s)); !strings.HasPrefix(lower, "http:") && !strings.HasPrefix(lower, "https:") {
				t.Fatalf("Detect = url for %q", s)
			}
		case KindTorrentFile:
		default:
			t.Fatalf("Detect = unknown kind %d", k)
		}
	})
}

func torrentSeeds(f *testing.F) [][]byte {
	f.Helper()
	var seeds [][]byte
	paths, _ := filepath.Glob("testdata/*.torrent")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	seeds = append(seeds,
		torrentFile(f, baseInfo()),
		torrentFile(f, singleInfo()),
		torrentFile(f, with(baseInfo(), "files", files([]string{".."}, 20000, []string{"b"}, 5000))),
		torrentFile(f, with(baseInfo(), "files", files([]string{"a"}, 20000, []string{"a", "b"}, 5000))),
		[]byte("d4:infod4:name1:a4:name1:bee"),
		[]byte("d1:alllleeee4:infod6:lengthi1eee"),
	)
	return seeds
}

func FuzzParseTorrent(f *testing.F) {
	for _, b := range torrentSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tor, err := ParseTorrent(b)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ParseTorrent error %T %q: want a one-line *Error", err, err)
			}
			return
		}
		checkInvariants(t, tor)
		checkReencoded(t, tor)
		for _, tr := range tor.Trackers {
			if !validTracker(tr) {
				t.Fatalf("tracker %q kept but not valid", tr)
			}
		}
	})
}

func FuzzValidateInfo(f *testing.F) {
	for _, b := range torrentSeeds(f) {
		if mi, err := metainfo.Load(strings.NewReader(string(b))); err == nil && len(mi.InfoBytes) > 0 {
			f.Add([]byte(mi.InfoBytes))
		}
	}
	f.Add(marshal(f, baseInfo()))
	f.Add(deepTree(3, 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		tor, err := ValidateInfo(b)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ValidateInfo error %T %q: want a one-line *Error", err, err)
			}
			return
		}
		checkInvariants(t, tor)
		checkReencoded(t, tor)
	})
}

// checkReencoded: the engine's storage hook re-encodes the decoded info and
// validates that; it must pass too.
func checkReencoded(t *testing.T, tor *Torrent) {
	t.Helper()
	b := marshal(t, &tor.Info) // a pointer: by value, anacrolix mis-encodes "file tree"
	again, err := ValidateInfo(b)
	if err != nil {
		t.Fatalf("ValidateInfo(re-encoded info) = %v", err)
	}
	if len(again.Files) != len(tor.Files) || again.TotalLength != tor.TotalLength {
		t.Fatalf("re-encoded info has %d files, %d bytes; want %d, %d", len(again.Files), again.TotalLength, len(tor.Files), tor.TotalLength)
	}
}

// FuzzInfoFields builds well-formed info dictionaries from fuzzed fields,
// so that the checks after decoding get the fuzzer's attention (random
// bytes rarely make it through bencode). Path components are split at "|".
func FuzzInfoFields(f *testing.F) {
	f.Add("album", "", "a.bin", "sub|b.txt", int64(20000), int64(5000), int64(16384), uint16(2), int64(0), "", false)
	f.Add("movie.mkv", "", "", "", int64(1000), int64(0), int64(16384), uint16(1), int64(0), "", false)
	f.Add("album", "..", "..|x", "", int64(1), int64(0), int64(16384), uint16(1), int64(0), "p", false)
	f.Add("x", "", "a", "a|b", int64(1), int64(1), int64(16384), uint16(1), int64(2), "", true)
	f.Fuzz(func(t *testing.T, name, nameUTF8, p1, p2 string, l1, l2, pl int64, npieces uint16, mv int64, attr string, tree bool) {
		info := map[string]any{"name": name, "piece length": pl, "pieces": strings.Repeat("h", 20*int(npieces))}
		if nameUTF8 != "" {
			info["name.utf-8"] = nameUTF8
		}
		if mv != 0 {
			info["meta version"] = mv
		}
		split := func(p string) []any {
			var out []any
			for _, c := range strings.Split(p, "|") {
				out = append(out, c)
			}
			return out
		}
		if p1 == "" {
			info["length"] = l1
		} else {
			fs := []any{map[string]any{"path": split(p1), "length": l1, "attr": attr}}
			if p2 != "" {
				fs = append(fs, map[string]any{"path": split(p2), "length": l2})
			}
			info["files"] = fs
		}
		if tree {
			leaf := func(l int64) map[string]any {
				return map[string]any{"": map[string]any{"length": l, "pieces root": strings.Repeat("r", 32)}}
			}
			ft := map[string]any{}
			if p1 == "" {
				ft[name] = leaf(l1)
			} else {
				ft[p1] = leaf(l1)
				if p2 != "" {
					ft[p2] = leaf(l2)
				}
			}
			info["file tree"] = ft
		}
		b := marshal(t, info)
		tor, err := ValidateInfo(b)
		if err != nil {
			var le *Error
			if !errors.As(err, &le) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("ValidateInfo error %T %q: want a one-line *Error", err, err)
			}
			return
		}
		checkInvariants(t, tor)
		checkReencoded(t, tor)
	})
}

// FuzzBencode runs anacrolix's bencode decoder (the copy in third_party,
// which every torrent, magnet metadata and DHT message goes through) on
// any bytes. Whatever decodes must encode again, and the encoding must be
// canonical: decoding it gives the same value and encoding that gives the
// same bytes. A canonical input must come back byte for byte.
func FuzzBencode(f *testing.F) {
	for _, s := range []string{
		"i0e", "i-42e", "4:spam", "0:", "le", "de",
		"l4:spami42ee", "d3:cow3:moo4:spam4:eggse", "d4:spaml1:a1:bee",
		"d1:ad1:bd1:cli1ei2eeeee",
		"d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa5:token8:abcdefgh5:nodes26:bbbbbbbbbbbbbbbbbbbbccccddee1:t2:aa1:y1:re",
		"d8:msg_typei1e5:piecei0e10:total_sizei3ee",
		"d2:ih20:aaaaaaaaaaaaaaaaaaaae",
		"i-0e", "i03e", "d1:b0:1:a0:e", "4:abc", "i9223372036854775808e", "l" + strings.Repeat("l", 200) + strings.Repeat("e", 201),
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"mktorrent-single.torrent", "transmission-multi.torrent"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v any
		if err := bencode.Unmarshal(b, &v); err != nil {
			return
		}
		enc, err := bencode.Marshal(v)
		if err != nil {
			t.Fatalf("decoded %q to %#v, which does not encode: %v", b, v, err)
		}
		var v2 any
		if err := bencode.Unmarshal(enc, &v2); err != nil {
			t.Fatalf("encoding %q of a decoded value does not decode: %v", enc, err)
		}
		if !reflect.DeepEqual(v, v2) {
			t.Fatalf("%q: decoded %#v, after a round trip %#v", b, v, v2)
		}
		enc2, err := bencode.Marshal(v2)
		if err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not stable: %q then %q (%v)", enc, enc2, err)
		}
		if canonicalBencode(b) && !bytes.Equal(enc, b) {
			t.Fatalf("canonical input %q encodes back as %q", b, enc)
		}
	})
}

// canonicalBencode reports whether b is one bencoded value in canonical
// form: integers without leading zeros or "-0", dictionary keys sorted
// and unique, nothing after the value. Nesting is limited to 1000 deep.
func canonicalBencode(b []byte) bool {
	rest, ok := canonicalValue(b, 0)
	return ok && len(rest) == 0
}

func canonicalValue(b []byte, depth int) ([]byte, bool) {
	if len(b) == 0 || depth > 1000 {
		return nil, false
	}
	switch c := b[0]; {
	case c == 'i':
		end := bytes.IndexByte(b, 'e')
		if end < 0 {
			return nil, false
		}
		s := string(b[1:end])
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != s {
			return nil, false
		}
		return b[end+1:], true
	case c >= '0' && c <= '9':
		_, rest, ok := canonicalString(b)
		return rest, ok
	case c == 'l':
		b = b[1:]
		for len(b) > 0 && b[0] != 'e' {
			var ok bool
			if b, ok = canonicalValue(b, depth+1); !ok {
				return nil, false
			}
		}
		if len(b) == 0 {
			return nil, false
		}
		return b[1:], true
	case c == 'd':
		b = b[1:]
		var last []byte
		first := true
		for len(b) > 0 && b[0] != 'e' {
			k, rest, ok := canonicalString(b)
			if !ok || (!first && bytes.Compare(last, k) >= 0) {
				return nil, false
			}
			last, first = k, false
			if b, ok = canonicalValue(rest, depth+1); !ok {
				return nil, false
			}
		}
		if len(b) == 0 {
			return nil, false
		}
		return b[1:], true
	}
	return nil, false
}

func canonicalString(b []byte) (s, rest []byte, ok bool) {
	colon := bytes.IndexByte(b, ':')
	if colon < 1 {
		return nil, nil, false
	}
	ls := string(b[:colon])
	n, err := strconv.Atoi(ls)
	if err != nil || n < 0 || strconv.Itoa(n) != ls || n > len(b)-colon-1 {
		return nil, nil, false
	}
	return b[colon+1 : colon+1+n], b[colon+1+n:], true
}
