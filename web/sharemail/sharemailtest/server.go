// Package sharemailtest is a minimal SMTP server on loopback for tests:
// it accepts every message and keeps it. It can offer STARTTLS (or speak
// TLS from the first byte) with a self-signed certificate and ask for a
// PLAIN login.
package sharemailtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Mail is one received message.
type Mail struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the message came over TLS
	User string // who logged in; "" when nobody did
}

// Options configure StartWith.
type Options struct {
	// TLS, when set, is offered with STARTTLS (or, with Implicit, spoken
	// from the first byte).
	TLS      *tls.Config
	Implicit bool
	// User and Password, when set, are the only login accepted (AUTH
	// PLAIN, after TLS when TLS is set); mail without it is refused.
	User, Password string
}

// Server is a running test SMTP server.
type Server struct {
	Addr string
	o    Options
	mu   sync.Mutex
	mail []Mail
}

// Start runs a plain server (no TLS, no login) on 127.0.0.1 until the test ends.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith runs a server with o on 127.0.0.1 until the test ends.
func StartWith(t testing.TB, o Options) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), o: o}
	if o.TLS != nil && o.Implicit {
		ln = tls.NewListener(ln, o.TLS)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

// Mail returns what arrived so far.
func (s *Server) Mail() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mail...)
}

func (s *Server) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(time.Minute))
	_, isTLS := c.(*tls.Conn)
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	var m Mail
	user := ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			ext := []string{"test", "8BITMIME"}
			if s.o.TLS != nil && !isTLS {
				ext = append(ext, "STARTTLS")
			}
			if s.o.User != "" && (isTLS || s.o.TLS == nil) {
				ext = append(ext, "AUTH PLAIN")
			}
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				say("250" + sep + e)
			}
		case cmd == "STARTTLS" && s.o.TLS != nil && !isTLS:
			say("220 go ahead")
			tc := tls.Server(c, s.o.TLS)
			if tc.Handshake() != nil {
				return
			}
			c, isTLS, r = tc, true, bufio.NewReader(tc)
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			arg := strings.TrimSpace(strings.TrimSpace(line)[len("AUTH PLAIN"):])
			if arg == "" {
				say("334 ")
				if arg, err = r.ReadString('\n'); err != nil {
					return
				}
				arg = strings.TrimSpace(arg)
			}
			b, _ := base64.StdEncoding.DecodeString(arg)
			parts := strings.Split(string(b), "\x00")
			if s.o.User != "" && len(parts) == 3 && parts[1] == s.o.User && parts[2] == s.o.Password {
				user = parts[1]
				say("235 ok")
			} else {
				say("535 bad login")
			}
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			if s.o.User != "" && user == "" {
				say("530 log in first")
				continue
			}
			m = Mail{From: angle(line), TLS: isTLS, User: user}
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = append(m.To, angle(line))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = []byte(data.String())
			s.mu.Lock()
			s.mail = append(s.mail, m)
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

// angle returns the address between < and > of a MAIL or RCPT line.
func angle(line string) string {
	_, rest, _ := strings.Cut(line, "<")
	addr, _, _ := strings.Cut(rest, ">")
	return addr
}

// SelfSigned makes a certificate for 127.0.0.1 and localhost, valid for
// an hour: the server's TLS config, and the certificate in PEM for the
// client to trust.
func SelfSigned(t testing.TB) (*tls.Config, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "hearth test smtp"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
