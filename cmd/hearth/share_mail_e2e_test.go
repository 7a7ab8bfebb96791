package main

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/web/sharemail/sharemailtest"
)

// mimePart is one leaf of a parsed message.
type mimePart struct {
	typ  string
	cid  string
	body []byte
}

// mimeLeaves walks a MIME entity and returns its leaves, decoded.
func mimeLeaves(t *testing.T, ctype string, body io.Reader, h interface{ Get(string) string }) []mimePart {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatalf("content type %q: %v", ctype, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatalf("read %s part: %v", mt, err)
		}
		return []mimePart{{typ: mt, cid: strings.Trim(h.Get("Content-Id"), "<>"), body: b}}
	}
	var out []mimePart
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, p) // it skips the line ends
		}
		out = append(out, mimeLeaves(t, p.Header.Get("Content-Type"), r, p.Header)...)
	}
}

// TestShareEmailDaemon: the daemon sends the message about a share
// through the mail server of its config (STARTTLS with a self-signed
// certificate trusted through share.smtp_ca_file, a login whose password
// is in share.smtp_password_file). The server on loopback receives it;
// the MIME holds the link, two photo thumbnails referenced by the HTML
// and the QR code; the link opens the page. The password is nowhere in
// "hearth config".
func TestShareEmailDaemon(t *testing.T) {
	srvTLS, certPEM := sharemailtest.SelfSigned(t)
	const password = "correct horse 7"
	srv := sharemailtest.StartWith(t, sharemailtest.Options{TLS: srvTLS, User: "gran@example.org", Password: password})
	secrets := t.TempDir()
	pwFile, caFile := filepath.Join(secrets, "smtp-password"), filepath.Join(secrets, "ca.pem")
	os.WriteFile(pwFile, []byte(password+"\n"), 0o600)
	os.WriteFile(caFile, certPEM, 0o644)
	d := startDaemonProc(t, t.TempDir(),
		"HEARTH_SHARE_SMTP="+srv.Addr,
		"HEARTH_SHARE_SMTP_FROM=Gran <gran@example.org>",
		"HEARTH_SHARE_SMTP_USER=gran@example.org",
		"HEARTH_SHARE_SMTP_PASSWORD_FILE="+pwFile,
		"HEARTH_SHARE_SMTP_CA_FILE="+caFile,
	)

	src := t.TempDir()
	for i, c := range []color.Gray{{Y: 40}, {Y: 200}} {
		img := image.NewGray(image.Rect(0, 0, 640, 480))
		for p := range img.Pix {
			img.Pix[p] = c.Y
		}
		var b bytes.Buffer
		jpeg.Encode(&b, img, nil)
		os.WriteFile(filepath.Join(src, []string{"a.jpg", "b.jpg"}[i]), b.Bytes(), 0o644)
	}
	os.WriteFile(filepath.Join(src, "notes.txt"), []byte("hello"), 0o644)
	d.mustCLI("channel", "create", "Summer")
	d.mustCLI("channel", "add", "Summer", filepath.Join(src, "a.jpg"), filepath.Join(src, "b.jpg"), filepath.Join(src, "notes.txt"))
	out := d.mustCLI("share", "create", "--channel", "Summer", "--note", "Beach <3")
	tok := regexp.MustCompile(`/s/([A-Za-z0-9_-]{24})\n`).FindStringSubmatch(out)
	id := regexp.MustCompile(`as share ([0-9a-f]{16})`).FindStringSubmatch(out)
	if tok == nil || id == nil {
		t.Fatalf("share create printed:\n%s", out)
	}

	if code, _, errOut := d.cli("share", "email", id[1], "--to", "kid@example.org", "--from", "x@example.org"); code != exitUsage {
		t.Errorf("share email --from without --smtp/--out = %d %q, want usage error", code, errOut)
	}
	out = d.mustCLI("share", "email", id[1], "--to", "Kid <kid@example.org>", "--to", "o@example.org")
	if !strings.Contains(out, "sent to kid@example.org, o@example.org from Gran <gran@example.org> (2 thumbnails") {
		t.Errorf("share email printed %q", out)
	}
	got := srv.Mail()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	if m := got[0]; !m.TLS || m.User != "gran@example.org" || m.From != "gran@example.org" || strings.Join(m.To, " ") != "kid@example.org o@example.org" {
		t.Errorf("envelope: TLS %v, user %q, from %q, to %q", m.TLS, m.User, m.From, m.To)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if f := msg.Header.Get("From"); f != "Gran <gran@example.org>" {
		t.Errorf("From = %q", f)
	}
	leaves := mimeLeaves(t, msg.Header.Get("Content-Type"), msg.Body, msg.Header)
	var text, html string
	var jpegs, pngs []mimePart
	for _, p := range leaves {
		switch p.typ {
		case "text/plain":
			text = string(p.body)
		case "text/html":
			html = string(p.body)
		case "image/jpeg":
			jpegs = append(jpegs, p)
		case "image/png":
			pngs = append(pngs, p)
		}
	}
	if !strings.Contains(text, "Beach <3") || !strings.Contains(html, "Beach &lt;3") {
		t.Errorf("note missing: text %q\nhtml %q", text, html)
	}
	if len(jpegs) != 2 || len(pngs) != 1 {
		t.Fatalf("message has %d JPEG and %d PNG parts, want 2 thumbnails and the QR code", len(jpegs), len(pngs))
	}
	for _, p := range append(jpegs, pngs...) {
		if p.cid == "" || !strings.Contains(html, "cid:"+p.cid) {
			t.Errorf("inline %s %q not referenced by the HTML", p.typ, p.cid)
		}
	}
	for i, p := range jpegs {
		img, err := jpeg.Decode(bytes.NewReader(p.body))
		if err != nil {
			t.Fatalf("thumbnail %d: %v", i, err)
		}
		if b := img.Bounds(); b.Dx() > 320 || b.Dy() > 320 || b.Dx() < 100 {
			t.Errorf("thumbnail %d is %v, want a thumbnail of at most 320 px", i, b)
		}
	}
	link := regexp.MustCompile(`http://\S+/s/([A-Za-z0-9_-]{24})`).FindStringSubmatch(text)
	if link == nil || link[1] != tok[1] {
		t.Fatalf("text part has no link to the share:\n%s", text)
	}
	// The link's host is a LAN address of this machine; tests stay on loopback.
	if code, _, page := httpGet(t, d.api+"/s/"+link[1]); code != http.StatusOK || !bytes.Contains(page, []byte("a.jpg")) {
		t.Errorf("link from the message = %d", code)
	}

	for _, args := range [][]string{{"config"}, {"config", "--json"}} {
		out := d.mustCLI(args...)
		if strings.Contains(out, password) || !strings.Contains(out, pwFile) {
			t.Errorf("hearth %s shows the password or not its file:\n%s", strings.Join(args, " "), out)
		}
	}
	if strings.Contains(d.logs.String(), password) {
		t.Errorf("daemon log holds the password")
	}

	// A revoked share is not mailed.
	d.mustCLI("share", "revoke", id[1])
	if code, _, errOut := d.cli("share", "email", id[1], "--to", "kid@example.org"); code == 0 || !strings.Contains(errOut, "revoked") {
		t.Errorf("share email of a revoked share = %d %q", code, errOut)
	}
	if n := len(srv.Mail()); n != 1 {
		t.Errorf("server has %d messages, want 1", n)
	}
}
