package sharemail

import (
	"bytes"
	"net/mail"
	"testing"

	"github.com/hearth-media/hearth/web/sharemail/sharemailtest"
)

func TestSend(t *testing.T) {
	srv := sharemailtest.Start(t)
	link := "http://192.168.1.20:9091/s/ceYx9zejC5GziHm_kr8TS8pq"
	msg, err := Build(Message{From: "gran@example.org", To: []string{"kid@example.org"}, Title: "T", Link: link, Thumbs: [][]byte{[]byte("\xff\xd8")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (SMTP{Addr: srv.Addr}).Send("gran@example.org", []string{"kid@example.org", "o@example.org"}, msg); err != nil {
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
	if err := (SMTP{Addr: "127.0.0.1:1"}).Send("a@b.c", []string{"d@e.f"}, msg); err == nil {
		t.Error("Send to a closed port: no error")
	}
}
