package sharemail

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/mail"
	"strings"
	"testing"

	"github.com/hearth-media/hearth/web/sharemail/sharemailtest"
)

func TestSend(t *testing.T) {
	ctx := context.Background()
	srv := sharemailtest.Start(t)
	link := "http://192.168.1.20:9091/s/ceYx9zejC5GziHm_kr8TS8pq"
	msg, err := Build(Message{From: "gran@example.org", To: []string{"kid@example.org"}, Title: "T", Link: link, Thumbs: [][]byte{[]byte("\xff\xd8")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (SMTP{Addr: srv.Addr}).Send(ctx, "gran@example.org", []string{"kid@example.org", "o@example.org"}, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Mail()
	if len(got) != 1 || got[0].From != "gran@example.org" || len(got[0].To) != 2 {
		t.Fatalf("received %d messages: %v", len(got), got[0].From)
	}
	m, err := mail.ReadMessage(bytes.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("From") != "gran@example.org" {
		t.Errorf("From = %q", m.Header.Get("From"))
	}
	if !bytes.Contains(got[0].Data, []byte(link)) {
		t.Error("received message lacks the link")
	}
	if err := (SMTP{Addr: "127.0.0.1:1"}).Send(ctx, "a@b.c", []string{"d@e.f"}, msg); err == nil {
		t.Error("Send to a closed port: no error")
	}
}

// TestSendTLS: STARTTLS and implicit TLS with a login, against a
// self-signed server that the client trusts through RootCAs; an
// untrusted certificate and a wrong password fail.
func TestSendTLS(t *testing.T) {
	ctx := context.Background()
	srvTLS, certPEM := sharemailtest.SelfSigned(t)
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	msg, err := Build(Message{From: "gran@example.org", To: []string{"kid@example.org"}, Title: "T", Link: "http://10.0.0.1/s/x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, implicit := range []bool{false, true} {
		srv := sharemailtest.StartWith(t, sharemailtest.Options{TLS: srvTLS, Implicit: implicit, User: "gran", Password: "pw"})
		good := SMTP{Addr: srv.Addr, User: "gran", Password: "pw", ImplicitTLS: implicit, TLSConfig: &tls.Config{RootCAs: roots}}
		if err := good.Send(ctx, "gran@example.org", []string{"kid@example.org"}, msg); err != nil {
			t.Fatalf("implicit=%v: Send = %v", implicit, err)
		}
		if got := srv.Mail(); len(got) != 1 || !got[0].TLS || got[0].User != "gran" {
			t.Errorf("implicit=%v: server got %+v, want one message over TLS from gran", implicit, got)
		}
		untrusted := good
		untrusted.TLSConfig = nil // system roots: the self-signed certificate is refused
		if err := untrusted.Send(ctx, "gran@example.org", []string{"kid@example.org"}, msg); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("implicit=%v: Send with an untrusted certificate = %v, want a certificate error", implicit, err)
		}
		wrong := good
		wrong.Password = "nope"
		if err := wrong.Send(ctx, "gran@example.org", []string{"kid@example.org"}, msg); err == nil || !strings.Contains(err.Error(), "auth") {
			t.Errorf("implicit=%v: Send with a wrong password = %v, want an auth error", implicit, err)
		}
		if got := srv.Mail(); len(got) != 1 {
			t.Errorf("implicit=%v: server has %d messages, want 1", implicit, len(got))
		}
	}
}
