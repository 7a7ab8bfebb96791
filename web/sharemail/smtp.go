package sharemail

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/smtp"
	"time"
)

// SMTP is a mail server to send through.
type SMTP struct {
	Addr     string // host:port
	User     string // empty: no authentication
	Password string
	// ImplicitTLS speaks TLS from the first byte (port 465) instead of
	// STARTTLS.
	ImplicitTLS bool
	// TLSConfig verifies the server; nil uses the system roots and Addr's
	// host. Certificates are always verified: set RootCAs for a
	// self-signed server.
	TLSConfig *tls.Config
}

// Send delivers msg (from Build) to the recipients. It uses STARTTLS
// whenever the server offers it and refuses to go on without it unless
// the server is on loopback: a password or a share link must not cross
// the network in clear text. A cancelled ctx ends the conversation.
func (s SMTP) Send(ctx context.Context, from string, to []string, msg []byte) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp server %q: %w", s.Addr, err)
	}
	cfg := s.TLSConfig
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		cfg = cfg.Clone()
		cfg.ServerName = host
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var conn net.Conn
	if s.ImplicitTLS {
		conn, err = (&tls.Dialer{Config: cfg}).DialContext(dctx, "tcp", s.Addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(dctx, "tcp", s.Addr)
	}
	if err != nil {
		return fmt.Errorf("connect to smtp server: %w", err)
	}
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer c.Close()
	if s.ImplicitTLS {
		// TLS already.
	} else if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	} else if a, err := netip.ParseAddr(host); (err != nil || !a.IsLoopback()) && host != "localhost" {
		return fmt.Errorf("smtp server %s does not offer STARTTLS: not sending in clear text", s.Addr)
	}
	if s.User != "" {
		// PlainAuth itself refuses to send the password without TLS
		// except to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return c.Quit()
}
