// Package sharemail writes the message that tells someone about a share:
// plain text and HTML alternatives with the link, the QR code and a few
// thumbnails as inline images (multipart/related, RFC 2387). Sending it
// (SMTP) is the caller's business; the message is complete RFC 5322.
package sharemail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is what the mail says.
type Message struct {
	From  string   // "Name <addr>" or addr; may be empty for an .eml draft
	To    []string // addresses
	Title string   // the share's title
	Note  string   // the sender's note
	Link  string   // the share link
	// Anywhere: the link works from outside the home too (an outside
	// link); otherwise the message says it works on the home network.
	Anywhere bool
	QR       []byte   // PNG of the link's QR code; optional
	Thumbs   [][]byte // JPEG thumbnails; a few
	Date     time.Time
}

// MaxThumbs bounds the inline thumbnails.
const MaxThumbs = 6

// Build returns the message in RFC 5322 form with CRLF line ends.
func Build(m Message) ([]byte, error) {
	for _, a := range append([]string{m.From}, m.To...) {
		if a == "" {
			continue
		}
		if _, err := mail.ParseAddress(a); err != nil {
			return nil, fmt.Errorf("address %q: %w", a, err)
		}
	}
	if strings.ContainsAny(m.Link, "\r\n\"<> ") || !strings.HasPrefix(m.Link, "http") {
		return nil, fmt.Errorf("bad link %q", m.Link)
	}
	if len(m.Thumbs) > MaxThumbs {
		m.Thumbs = m.Thumbs[:MaxThumbs]
	}
	if m.Date.IsZero() {
		m.Date = time.Now()
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	if m.From != "" {
		h("From", m.From)
	}
	if len(m.To) > 0 {
		h("To", strings.Join(m.To, ", "))
	}
	h("Subject", mime.QEncoding.Encode("utf-8", "Shared with you: "+oneLine(m.Title)))
	h("Date", m.Date.Format(time.RFC1123Z))
	h("Message-ID", "<"+randHex(12)+"@hearth.invalid>")
	h("MIME-Version", "1.0")

	rel := multipart.NewWriter(&b)
	h("Content-Type", `multipart/related; type="multipart/alternative"; boundary=`+rel.Boundary())
	b.WriteString("\r\n")

	var altBuf bytes.Buffer
	alt := multipart.NewWriter(&altBuf)
	where := "Open it in a browser on the same home network:"
	if m.Anywhere {
		where = "Open it in a browser:"
	}
	text := fmt.Sprintf("%s\r\n\r\n%s\r\n%s\r\n%s\r\n", oneLine(m.Title), crlf(m.Note), where, m.Link)
	if err := qpPart(alt, "text/plain; charset=utf-8", text); err != nil {
		return nil, err
	}
	var cids []string
	for range m.Thumbs {
		cids = append(cids, randHex(8)+"@hearth")
	}
	qrCID := ""
	if len(m.QR) > 0 {
		qrCID = randHex(8) + "@hearth"
	}
	var html bytes.Buffer
	if err := htmlTmpl.Execute(&html, map[string]any{"Title": m.Title, "Note": m.Note, "Link": template.URL(m.Link), "Thumbs": cids, "QR": qrCID, "Anywhere": m.Anywhere}); err != nil {
		return nil, err
	}
	if err := qpPart(alt, "text/html; charset=utf-8", html.String()); err != nil {
		return nil, err
	}
	alt.Close()
	pw, err := rel.CreatePart(textproto.MIMEHeader{"Content-Type": {"multipart/alternative; boundary=" + alt.Boundary()}})
	if err != nil {
		return nil, err
	}
	pw.Write(altBuf.Bytes())
	for i, t := range m.Thumbs {
		if err := imagePart(rel, "image/jpeg", cids[i], fmt.Sprintf("photo%d.jpg", i+1), t); err != nil {
			return nil, err
		}
	}
	if qrCID != "" {
		if err := imagePart(rel, "image/png", qrCID, "qr.png", m.QR); err != nil {
			return nil, err
		}
	}
	rel.Close()
	return b.Bytes(), nil
}

// Mailto is a mailto: link with the subject and the plain text body, for
// when there is no SMTP server: the user's mail program sends it.
func Mailto(to []string, title, note, link string) string {
	q := "subject=" + pct("Shared with you: "+oneLine(title)) + "&body=" + pct(strings.TrimSpace(note+"\n\n"+link))
	return "mailto:" + pct(strings.Join(to, ",")) + "?" + q
}

func pct(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~@,", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func qpPart(w *multipart.Writer, ctype, body string) error {
	pw, err := w.CreatePart(textproto.MIMEHeader{"Content-Type": {ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
	if err != nil {
		return err
	}
	qw := quotedprintable.NewWriter(pw)
	if _, err := qw.Write([]byte(body)); err != nil {
		return err
	}
	return qw.Close()
}

func imagePart(w *multipart.Writer, ctype, cid, name string, data []byte) error {
	pw, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {ctype},
		"Content-Transfer-Encoding": {"base64"},
		"Content-ID":                {"<" + cid + ">"},
		"Content-Disposition":       {`inline; filename="` + name + `"`},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		fmt.Fprintf(pw, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	_, err = fmt.Fprintf(pw, "%s\r\n", enc)
	return err
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(s, "\n", "\r\n") + "\r\n"
}

var htmlTmpl = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family:sans-serif;color:#222">
<h2>{{.Title}}</h2>
{{with .Note}}<p style="white-space:pre-wrap">{{.}}</p>{{end}}
{{range .Thumbs}}<img src="cid:{{.}}" alt="" width="120" style="margin:2px">{{end}}
<p><a href="{{.Link}}" style="display:inline-block;background:#d9822b;color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none">Open the photos</a></p>
<p style="color:#666;font-size:13px">{{if .Anywhere}}The link: {{.Link}}{{else}}The link works on the home network it was shared from: {{.Link}}{{end}}</p>
{{with .QR}}<p><img src="cid:{{.}}" alt="QR code of the link" width="160" height="160"></p>{{end}}
</body></html>
`))
