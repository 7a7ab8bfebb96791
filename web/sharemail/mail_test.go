package sharemail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/url"
	"strings"
	"testing"
)

// Parts walks a parsed message and returns every leaf part by type.
func leaves(t *testing.T, ctype string, body io.Reader, out map[string][][]byte, cids map[string]bool) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", mt, err)
		}
		ct := p.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			leaves(t, ct, p, out, cids)
			continue
		}
		var r io.Reader = p
		switch p.Header.Get("Content-Transfer-Encoding") {
		case "quoted-printable":
			r = quotedprintable.NewReader(p)
		case "base64":
			r = base64Reader(p)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if id := p.Header.Get("Content-ID"); id != "" {
			cids[strings.Trim(id, "<>")] = true
		}
		k, _, _ := strings.Cut(ct, ";")
		out[k] = append(out[k], b)
	}
}

func TestBuild(t *testing.T) {
	link := "http://192.168.1.20:9091/s/ceYx9zejC5GziHm_kr8TS8pq"
	raw, err := Build(Message{
		From: "Grandma <gran@example.org>", To: []string{"kid@example.org", "Other <o@example.org>"},
		Title: "Summer <b>2026</b> été", Note: "Look!\nMore soon.", Link: link,
		QR: []byte("\x89PNGqr"), Thumbs: [][]byte{[]byte("\xff\xd8one"), []byte("\xff\xd8two")},
	})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != "Shared with you: Summer <b>2026</b> été" {
		t.Errorf("Subject = %q, %v", subj, err)
	}
	if to, err := msg.Header.AddressList("To"); err != nil || len(to) != 2 {
		t.Errorf("To = %v, %v", to, err)
	}
	parts := map[string][][]byte{}
	cids := map[string]bool{}
	leaves(t, msg.Header.Get("Content-Type"), msg.Body, parts, cids)
	if len(parts["text/plain"]) != 1 || !bytes.Contains(parts["text/plain"][0], []byte(link)) {
		t.Errorf("text part: %q", parts["text/plain"])
	}
	html := string(parts["text/html"][0])
	if !strings.Contains(html, `href="`+link+`"`) || strings.Contains(html, "<b>2026") || !strings.Contains(html, "&lt;b&gt;2026") {
		t.Errorf("html part:\n%s", html)
	}
	if len(parts["image/jpeg"]) != 2 || string(parts["image/jpeg"][1]) != "\xff\xd8two" || len(parts["image/png"]) != 1 {
		t.Errorf("images: %d jpeg, %d png", len(parts["image/jpeg"]), len(parts["image/png"]))
	}
	for id := range cids {
		if !strings.Contains(html, "cid:"+id) {
			t.Errorf("inline image %s not used in the HTML", id)
		}
	}
	if len(cids) != 3 {
		t.Errorf("%d inline images, want 3", len(cids))
	}

	for _, bad := range []Message{
		{To: []string{"not an address\r\nBcc: x@y"}, Link: link},
		{To: []string{"a@b.c"}, Link: "javascript:alert(1)"},
		{To: []string{"a@b.c"}, Link: link + "\r\nX: y"},
	} {
		if _, err := Build(bad); err == nil {
			t.Errorf("Build(%+v): no error", bad)
		}
	}
}

func TestMailto(t *testing.T) {
	m := Mailto([]string{"a@b.c"}, "Summer & co", "Hi", "http://x:1/s/t")
	u, err := url.Parse(m)
	if err != nil || u.Scheme != "mailto" || u.Opaque != "a@b.c" {
		t.Fatalf("Mailto = %q (%v)", m, err)
	}
	q := u.Query()
	if q.Get("subject") != "Shared with you: Summer & co" || q.Get("body") != "Hi\n\nhttp://x:1/s/t" {
		t.Errorf("Mailto query = %v", q)
	}
}

// TestAnywhere: an outside link's message does not say "home network".
func TestAnywhere(t *testing.T) {
	for _, anywhere := range []bool{false, true} {
		msg, err := Build(Message{To: []string{"kid@example.org"}, Title: "T", Link: "http://203.0.113.7:9092/s/x", Anywhere: anywhere})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(msg), "home network"); got == anywhere {
			t.Errorf("Build(Anywhere: %v) mentions the home network: %v", anywhere, got)
		}
	}
}
