package main

import (
	"archive/zip"
	"bytes"
	"image"
	"image/jpeg"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/web/sharemail/sharemailtest"
)

func httpGet(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestShareEndToEnd: through the real binary, with loopback not trusted
// (as a phone on the LAN is not): a channel shared with "hearth share
// create" opens without credentials while the API still wants them; the
// zip holds the files; the invite names the channel; revoked → 410.
func TestShareEndToEnd(t *testing.T) {
	d := startDaemonProc(t, t.TempDir(), "HEARTH_ACCESS_TRUST_LOOPBACK=false")
	t.Setenv("HEARTH_USER", "")
	t.Setenv("HEARTH_TOKEN", "")
	t.Setenv("HEARTH_PASSWORD", "")
	if code, _, errOut := runHearthIn(t, "s3cret pass\n", "passwd", "--stdin", "--api", d.api); code != exitOK {
		t.Fatalf("passwd = %d %s", code, errOut)
	}
	t.Setenv("HEARTH_USER", "admin")
	t.Setenv("HEARTH_PASSWORD", "s3cret pass")

	src := t.TempDir()
	var jb bytes.Buffer
	jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 800, 600)), nil)
	files := map[string][]byte{
		"<img src=x onerror=alert(1)>.jpg": jb.Bytes(),
		"clip.mp4":                         bytes.Repeat([]byte("video"), 20000),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d.mustCLI("channel", "create", "Summer")
	d.mustCLI("channel", "add", "Summer", filepath.Join(src, "clip.mp4"), filepath.Join(src, "<img src=x onerror=alert(1)>.jpg"))

	if code, _, errOut := d.cli("share", "create"); code != exitUsage {
		t.Errorf("share create without --channel/--torrent = %d %q, want usage error", code, errOut)
	}
	out := d.mustCLI("share", "create", "--channel", "Summer", "--expires", "7d", "--note", "For <you>")
	if !strings.Contains(out, "inside the home network only") {
		t.Errorf("share create output lacks the home-network note:\n%s", out)
	}
	m := regexp.MustCompile(`link: http://\S+:(\d+)/s/([A-Za-z0-9_-]{24})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("share create printed no link:\n%s", out)
	}
	// The link's host is a LAN address; tests stay on loopback.
	base := strings.TrimSuffix(d.api, "/") + "/s/" + m[2]
	if !strings.HasSuffix(d.api, ":"+m[1]) {
		t.Errorf("link port %s, daemon at %s", m[1], d.api)
	}

	code, hdr, page := httpGet(t, base)
	if code != 200 || !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("unauthenticated GET of the share page = %d, CSP %q", code, hdr.Get("Content-Security-Policy"))
	}
	if bytes.Contains(page, []byte("<img src=x")) || !bytes.Contains(page, []byte("&lt;img src=x onerror=alert(1)&gt;.jpg")) || !bytes.Contains(page, []byte("For &lt;you&gt;")) {
		t.Errorf("page not escaped:\n%s", page)
	}
	if code, _, _ := httpGet(t, d.api+"/api/v1/torrents"); code != http.StatusUnauthorized {
		t.Errorf("unauthenticated GET /api/v1/torrents = %d, want 401", code)
	}
	if code, hdr, b := httpGet(t, base+"/t/0"); code != 200 || hdr.Get("Content-Type") != "image/jpeg" || len(b) == 0 {
		t.Errorf("thumbnail = %d %q", code, hdr.Get("Content-Type"))
	}
	code, _, zb := httpGet(t, base+"/all.zip")
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if code != 200 || err != nil || len(zr.File) != 2 {
		t.Fatalf("zip = %d, %v", code, err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, files[f.Name]) {
			t.Errorf("zip entry %q: %d bytes, %v", f.Name, len(b), err)
		}
	}
	code, _, inv := httpGet(t, base+"/invite.hearth")
	invFile := filepath.Join(t.TempDir(), "Summer.hearth")
	os.WriteFile(invFile, inv, 0o644)
	link, err := readInvite(invFile)
	if code != 200 || err != nil || !strings.HasPrefix(link, "magnet:?xs=urn:btpk:") {
		t.Errorf("invite = %d %q %v", code, link, err)
	}

	// An invite is refused when it is not one; a good one reaches the
	// daemon (which refuses to subscribe a device to its own channel or
	// starts the subscription: either way it read the link).
	bad := filepath.Join(t.TempDir(), "bad.hearth")
	os.WriteFile(bad, []byte(`{"type":"other"}`), 0o644)
	if code, _, errOut := d.cli("add", bad); code != exitUsage || !strings.Contains(errOut, "not a Hearth invite") {
		t.Errorf("hearth add bad.hearth = %d %q", code, errOut)
	}
	if code, _, errOut := d.cli("subscribe", "--invite", bad); code != exitUsage {
		t.Errorf("hearth subscribe --invite bad.hearth = %d %q", code, errOut)
	}

	ls := d.mustCLI("share", "ls")
	id := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+active\s+channel Summer`).FindStringSubmatch(ls)
	if id == nil {
		t.Fatalf("share ls:\n%s", ls)
	}
	if out := d.mustCLI("share", "qr", id[1]); !strings.Contains(out, "█") || !strings.Contains(out, "/s/"+m[2]) {
		t.Errorf("share qr printed:\n%s", out)
	}
	pngFile := filepath.Join(t.TempDir(), "qr.png")
	d.mustCLI("share", "qr", id[1], "--png", pngFile)
	if b, err := os.ReadFile(pngFile); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("share qr --png wrote %d bytes, %v", len(b), err)
	}
	if code, hdr, b := httpGet(t, base+"/invite.png"); code != 200 || hdr.Get("Content-Type") != "image/png" || len(b) == 0 {
		t.Errorf("invite QR = %d %q", code, hdr.Get("Content-Type"))
	}
	// The message about the share: parse it and follow its link.
	eml := filepath.Join(t.TempDir(), "share.eml")
	out = d.mustCLI("share", "email", id[1], "--to", "kid@example.org", "--out", eml)
	if !strings.Contains(out, "mailto:kid@example.org?subject=") || !strings.Contains(out, "1 thumbnails") {
		t.Errorf("share email printed:\n%s", out)
	}
	raw, _ := os.ReadFile(eml)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse %s: %v", eml, err)
	}
	body, _ := io.ReadAll(msg.Body)
	ml := regexp.MustCompile(`http://[^\s"<=]+/s/([A-Za-z0-9_-]{24})`).FindSubmatch(body)
	if ml == nil || string(ml[1]) != m[2] {
		t.Fatalf("message has no link to the share:\n%.2000s", body)
	}
	if code, _, _ := httpGet(t, d.api+"/s/"+string(ml[1])); code != 200 {
		t.Errorf("link from the message = %d", code)
	}
	// The daemon has no mail server: the message goes to a file.
	t.Chdir(t.TempDir())
	code, out, errOut := d.cli("share", "email", id[1], "--to", "kid@example.org")
	if b, err := os.ReadFile("share-" + id[1] + ".eml"); code != exitOK || err != nil || !bytes.Contains(b, ml[0]) ||
		!strings.Contains(errOut, "no mail server configured") || !strings.Contains(out, "mailto:kid@example.org") {
		t.Errorf("share email without a mail server = %d, file %v\nstdout: %s\nstderr: %s", code, err, out, errOut)
	}
	// Through an SMTP server on loopback.
	srv := sharemailtest.Start(t)
	if code, _, errOut := d.cli("share", "email", id[1], "--to", "kid@example.org", "--smtp", srv.Addr); code != exitUsage {
		t.Errorf("share email --smtp without --from = %d %q", code, errOut)
	}
	out = d.mustCLI("share", "email", id[1], "--to", "Kid <kid@example.org>", "--smtp", srv.Addr, "--from", "gran@example.org")
	got := srv.Mail()
	if !strings.Contains(out, "sent to kid@example.org") || len(got) != 1 || got[0].To[0] != "kid@example.org" || !bytes.Contains(got[0].Data, ml[0]) {
		t.Errorf("share email --smtp printed %q; server got %d messages", out, len(got))
	}
	d.mustCLI("share", "revoke", id[1])
	if code, _, b := httpGet(t, base); code != http.StatusGone || !bytes.Contains(b, []byte("ended")) {
		t.Errorf("revoked share page = %d, want 410", code)
	}
	if code, _, _ := httpGet(t, strings.TrimSuffix(base, m[2])+"AAAAAAAAAAAAAAAAAAAAAAAA"); code != 404 {
		t.Errorf("guessed token = %d, want 404", code)
	}
}

// TestShareInviteSubscribes: the invite a share page hands out makes a
// second Hearth follow the channel ("Done when" of the share issue):
// the publisher shares, a stranger's browser fetches the invite without
// credentials, the second device runs "hearth subscribe --invite".
func TestShareInviteSubscribes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two daemons")
	}
	nodes := startPeerDHT(t, 3)
	env := []string{
		"HEARTH_TORRENT_DHT=true",
		"HEARTH_TORRENT_DHT_BOOTSTRAP=" + strings.Join(nodes, ","),
		"HEARTH_CHANNELS_POLL_INTERVAL=1s",
		"HEARTH_CHANNELS_LAN=false",
	}
	pub := startDaemonProc(t, t.TempDir(), append(env, "HEARTH_ACCESS_TRUST_LOOPBACK=false")...)
	sub := startDaemonProc(t, t.TempDir(), env...)
	if code, _, errOut := runHearthIn(t, "s3cret pass\n", "passwd", "--stdin", "--api", pub.api); code != exitOK {
		t.Fatalf("passwd = %d %s", code, errOut)
	}
	photos := t.TempDir()
	writeRandom(t, filepath.Join(photos, "summer", "IMG_0001.jpg"), 300_000)
	writeRandom(t, filepath.Join(photos, "summer", "IMG_0002.jpg"), 123_456)
	t.Setenv("HEARTH_USER", "admin")
	t.Setenv("HEARTH_PASSWORD", "s3cret pass")
	pub.mustCLI("channel", "create", "Family photos")
	pub.mustCLI("channel", "add", "Family photos", filepath.Join(photos, "summer"))
	pub.mustCLI("channel", "publish", "Family photos")
	out := pub.mustCLI("share", "create", "--channel", "Family photos")
	m := regexp.MustCompile(`/s/([A-Za-z0-9_-]{24})\n`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("share create printed no link:\n%s", out)
	}
	t.Setenv("HEARTH_USER", "")
	t.Setenv("HEARTH_PASSWORD", "")

	code, _, inv := httpGet(t, pub.api+"/s/"+m[1]+"/invite.hearth")
	if code != 200 {
		t.Fatalf("invite = %d", code)
	}
	invFile := filepath.Join(t.TempDir(), "Family photos.hearth")
	os.WriteFile(invFile, inv, 0o644)
	if out := sub.mustCLI("subscribe", "--invite", invFile); !strings.Contains(out, "subscribed to Family photos") {
		t.Errorf("subscribe --invite printed %q", out)
	}
	s := waitSubscriptionE2E(t, sub, 1)
	sameDir(t, photos, "summer", filepath.Join(s.Dir, "summer"))
}
