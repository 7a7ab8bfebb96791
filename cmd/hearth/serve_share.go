package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearth-media/hearth/config"
	"github.com/hearth-media/hearth/engine"
	"github.com/hearth-media/hearth/engine/channel"
	"github.com/hearth-media/hearth/engine/share"
	"github.com/hearth-media/hearth/engine/store"
	"github.com/hearth-media/hearth/engine/thumb"
	"github.com/hearth-media/hearth/web"
	"github.com/hearth-media/hearth/web/sharemail"
	"github.com/hearth-media/hearth/web/sharepage"
)

// newThumbs makes the one thumbnail maker of the share pages and the
// library, cached in DATA_DIR/cache/thumbs. The router profile makes
// one thumbnail at a time of at most 16 MP (a decoded 16 MP JPEG is
// about 24 MB) and takes the camera's own EXIF thumbnail when a photo
// has one (no full decode: a full one takes seconds on a router CPU);
// it makes no large (1280 px) ones: a slideshow would keep its one
// decode busy, while sending the photo itself (/stream) costs it only
// reading the file. Other profiles two at a time, up to 40 MP.
func newThumbs(cfg *config.Config, log *slog.Logger) (*thumb.Maker, error) {
	to := thumb.Options{Dir: filepath.Join(cfg.DataDir, "cache", "thumbs"), Logger: log, Concurrency: 2}
	if cfg.Profile == "router" {
		to.Concurrency, to.MaxPixels, to.MaxBytes, to.Embedded, to.LargeSize = 1, 16_000_000, 16<<20, true, -1
	}
	return thumb.New(to)
}

// startShares makes the share manager and the share pages (/s/…), with
// thumbnails from th.
func startShares(st store.Store, eng *engine.Engine, chm *channel.Manager, th *thumb.Maker, log *slog.Logger) (*share.Manager, http.Handler, error) {
	sm := share.New(st, nil)
	o := sharepage.Options{Shares: sm, Torrents: eng, Thumbs: th, Logger: log}
	if chm != nil {
		o.Channels = chm
	}
	return sm, sharepage.NewHandler(o), nil
}

// shareMailer is the daemon's mail server for share emails (config
// section share), or nil when share.smtp is empty.
func shareMailer(cfg *config.Config) web.ShareMailer {
	if cfg.Share.SMTP == "" {
		return nil
	}
	return smtpMailer(cfg.Share)
}

// smtpMailer reads the password and CA files at each message, so that
// changing them needs no restart and the password stays in memory only
// while a message is sent.
type smtpMailer config.Share

func (m smtpMailer) Sender() string { return m.SMTPFrom }

func (m smtpMailer) Send(ctx context.Context, from string, to []string, msg []byte) error {
	srv := sharemail.SMTP{Addr: m.SMTP, User: m.SMTPUser, ImplicitTLS: m.SMTPTLS == "tls"}
	if m.SMTPPasswordFile != "" {
		b, err := os.ReadFile(m.SMTPPasswordFile)
		if err != nil {
			return fmt.Errorf("read share.smtp_password_file: %w", err)
		}
		srv.Password = strings.TrimRight(string(b), "\r\n")
	}
	if m.SMTPCAFile != "" {
		b, err := os.ReadFile(m.SMTPCAFile)
		if err != nil {
			return fmt.Errorf("read share.smtp_ca_file: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			return fmt.Errorf("share.smtp_ca_file %s holds no PEM certificate", m.SMTPCAFile)
		}
		srv.TLSConfig = &tls.Config{RootCAs: roots}
	}
	return srv.Send(ctx, from, to, msg)
}
