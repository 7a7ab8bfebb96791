package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/enginetest"
)

// streamSetup makes a torrent of one file, seeds it from one engine and
// adds it to a daemon's engine whose download rate is limited so the file
// is still incomplete while the test reads it. peer false leaves the
// leecher without any peer: nothing ever arrives.
func streamSetup(t *testing.T, peer bool) (d *daemon, id int64, src []byte) {
	t.Helper()
	const size = 12<<20 + 4321
	tt := enginetest.MakeTorrent(t, t.TempDir(), "movie.mp4", 64<<10, []enginetest.File{{Path: "", Size: size}})
	src, err := os.ReadFile(filepath.Join(tt.Dir, tt.Name))
	if err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t)
	got, _, err := d.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Paused: true})
	if err != nil {
		t.Fatal(err)
	}
	// 400 KB/s: about 31 s for the whole file, far longer than the test.
	if err := d.Engine.SetOptions(got.ID, engine.OptionsPatch{DownloadKBps: ptrTo(400)}); err != nil {
		t.Fatal(err)
	}
	if err := d.Engine.Resume(got.ID); err != nil {
		t.Fatal(err)
	}
	if peer {
		seeder := enginetest.StartNode(t, enginetest.NodeOptions{})
		s, _, err := seeder.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
		if err != nil {
			t.Fatal(err)
		}
		enginetest.WaitFor(t, seeder.Engine, fmt.Sprint(s.ID), 30*time.Second, "seeder verified", enginetest.Complete)
		if err := d.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
			t.Fatal(err)
		}
	}
	return d, got.ID, src
}

func ptrTo[T any](v T) *T { return &v }

// get sends a request with an optional Range header.
func streamGet(t *testing.T, ctx context.Context, method, url, rng string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func TestStreamWhileDownloading(t *testing.T) {
	d, id, src := streamSetup(t, true)
	size := int64(len(src))
	url := fmt.Sprintf("%s/stream/%d/0", d.URL, id)
	ctx := context.Background()

	resp, body, err := streamGet(t, ctx, http.MethodHead, url, "")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength != size || len(body) != 0 {
		t.Errorf("HEAD = %d, length %d, %d body bytes; want 200, %d, 0", resp.StatusCode, resp.ContentLength, len(body), size)
	}
	for k, want := range map[string]string{
		"Content-Type":        "video/mp4",
		"Accept-Ranges":       "bytes",
		"Content-Disposition": `inline; filename="movie.mp4"`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("HEAD %s = %q, want %q", k, got, want)
		}
	}

	// Far ahead first, then the middle, start and suffix: each must come
	// back right while the torrent is incomplete, and the far range must
	// arrive while most of the file before it is still missing.
	tests := []struct {
		name       string
		rng        string
		start, end int64 // inclusive
	}{
		{"far", "bytes=11000000-11099999", 11000000, 11099999},
		{"middle", "bytes=6000000-6199999", 6000000, 6199999},
		{"start", "bytes=0-65535", 0, 65535},
		{"suffix", "bytes=-70000", size - 70000, size - 1},
		{"open end", fmt.Sprintf("bytes=%d-", size-1000), size - 1000, size - 1},
	}
	for _, tc := range tests {
		before, err := d.Engine.Get(fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		if before.Done >= before.Size {
			t.Fatalf("%s: torrent complete (%d/%d) before the request: the test proves nothing", tc.name, before.Done, before.Size)
		}
		start := time.Now()
		resp, body, err := streamGet(t, ctx, http.MethodGet, url, tc.rng)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Logf("%s: %d bytes in %v (torrent %d/%d verified before)", tc.name, len(body), time.Since(start), before.Done, before.Size)
		if resp.StatusCode != http.StatusPartialContent {
			t.Fatalf("%s: GET Range %s = %d, want 206", tc.name, tc.rng, resp.StatusCode)
		}
		wantCR := fmt.Sprintf("bytes %d-%d/%d", tc.start, tc.end, size)
		if got := resp.Header.Get("Content-Range"); got != wantCR {
			t.Errorf("%s: Content-Range = %q, want %q", tc.name, got, wantCR)
		}
		if !bytes.Equal(body, src[tc.start:tc.end+1]) {
			t.Errorf("%s: body (%d bytes) differs from the source bytes %d-%d", tc.name, len(body), tc.start, tc.end)
		}
		if tc.name == "far" {
			after, err := d.Engine.Get(fmt.Sprint(id))
			if err != nil {
				t.Fatal(err)
			}
			// Done counts every verified byte: if less than the offset
			// just read is verified, pieces before it are still missing,
			// so the requested ones came first.
			if after.Done >= tc.start {
				t.Errorf("far range read with %d bytes verified, want fewer than its offset %d (requested pieces first)", after.Done, tc.start)
			}
		}
	}

	resp, _, err = streamGet(t, ctx, http.MethodGet, url, fmt.Sprintf("bytes=%d-", size+10))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("GET past the end = %d, want 416", resp.StatusCode)
	}
	if got, want := resp.Header.Get("Content-Range"), fmt.Sprintf("bytes */%d", size); got != want {
		t.Errorf("416 Content-Range = %q, want %q", got, want)
	}

	for _, p := range []string{"/stream/999/0", fmt.Sprintf("/stream/%d/1", id), fmt.Sprintf("/stream/%d/-1", id), fmt.Sprintf("/stream/%d/x", id)} {
		resp, _, err := streamGet(t, ctx, http.MethodGet, d.URL+p, "")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestStreamClientGoesAway: a read blocked on a piece that never arrives
// (no peers) ends when the player disconnects; the handler returns.
func TestStreamClientGoesAway(t *testing.T) {
	d, id, _ := streamSetup(t, false)
	url := fmt.Sprintf("%s/stream/%d/0", d.URL, id)
	ctx, cancel := context.WithCancel(context.Background())
	errC := make(chan error, 1)
	go func() {
		_, _, err := streamGet(t, ctx, http.MethodGet, url, "bytes=5000000-5000099")
		errC <- err
	}()
	// Wait until the handler is blocked in the read, then hang up.
	waitStack(t, "web.(*api).stream", true)
	cancel()
	if err := <-errC; err == nil {
		t.Errorf("request succeeded with no peer to send data")
	}
	waitStack(t, "web.(*api).stream", false)
}

// waitStack waits until a goroutine running fn exists (present) or none
// does.
func waitStack(t *testing.T, fn string, present bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if strings.Contains(string(buf[:n]), fn) == present {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine in %s present = %v after 10s, want %v:\n%s", fn, !present, present, buf[:n])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ name, want string }{
		{"movie.mkv", `inline; filename="movie.mkv"`},
		{`a"b\c;d.mp4`, `inline; filename="a_b_c_d.mp4"`},
		{"é.mp3", `inline; filename="_.mp3"; filename*=UTF-8''%C3%A9.mp3`},
		{"line\nbreak", `inline; filename="line_break"`},
	}
	for _, tc := range tests {
		if got := contentDisposition(tc.name); got != tc.want {
			t.Errorf("contentDisposition(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	for name, want := range map[string]string{"a.MKV": "video/x-matroska", "b.flac": "audio/flac", "c.m4a": "audio/mp4", "d.jpg": "image/jpeg", "e.bin": "application/octet-stream", "f.html": "application/octet-stream"} {
		if got := contentType(name); got != want {
			t.Errorf("contentType(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestStreamIgnoresUploadLimit: the torrent's upload limit is for peers.
// At 1 KB/s it would hold a 600 KB read for minutes (the first 256 KiB
// pass as the limiter's burst); the read must only wait for the download.
func TestStreamIgnoresUploadLimit(t *testing.T) {
	d, id, src := streamSetup(t, true)
	if err := d.Engine.SetOptions(id, engine.OptionsPatch{UploadKBps: ptrTo(1)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := fmt.Sprintf("%s/stream/%d/0", d.URL, id)
	resp, body, err := streamGet(t, ctx, http.MethodGet, url, "bytes=3000000-3599999")
	if err != nil {
		t.Fatalf("600 KB read with a 1 KB/s upload limit: %v", err)
	}
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, src[3000000:3600000]) {
		t.Errorf("GET = %d with %d bytes, want 206 with the source's 600000", resp.StatusCode, len(body))
	}
}

// BenchmarkStreamFirstByte: time to the first byte of a 64 KiB range in
// the middle of a 32 MiB file that a leecher (no rate limit) has just
// been told about, over loopback. Each iteration starts a new leecher.
func BenchmarkStreamFirstByte(b *testing.B) {
	tt := enginetest.MakeTorrent(b, b.TempDir(), "film.mkv", 256<<10, []enginetest.File{{Path: "", Size: 32 << 20}})
	seeder := enginetest.StartNode(b, enginetest.NodeOptions{})
	s, _, err := seeder.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo, Dir: tt.Dir})
	if err != nil {
		b.Fatal(err)
	}
	enginetest.WaitFor(b, seeder.Engine, fmt.Sprint(s.ID), time.Minute, "seeder verified", enginetest.Complete)
	var total time.Duration
	for range b.N {
		b.StopTimer()
		d := startDaemon(b)
		got, _, err := d.Engine.Add(context.Background(), engine.AddRequest{Metainfo: tt.Metainfo})
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Engine.AddPeers(got.ID, []string{seeder.PeerAddr()}); err != nil {
			b.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/stream/%d/0", d.URL, got.ID), nil)
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", 20<<20, 20<<20+65535))
		b.StartTimer()
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var one [1]byte
		if _, err := io.ReadFull(resp.Body, one[:]); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		resp.Body.Close()
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ttfb-ms")
}
