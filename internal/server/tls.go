package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckEvery is how often, at most, a handshake looks whether the
// certificate files changed: a renewed pair is served within it, and a
// burst of handshakes costs one stat of each file.
const certCheckEvery = time.Second

// certificate is the public address's TLS certificate, reloaded when its
// files change (a cert-manager or certbot renewal) without a restart. A
// pair that does not load keeps the one loaded before, with a warning: a
// half-written renewal must not take the service down.
type certificate struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   fileStamp // of the files cert was loaded from
	tried   fileStamp // of the files last tried, loaded or not
	checked time.Time
}

// fileStamp tells whether files changed: their modification times and sizes.
type fileStamp [2]struct {
	mod  time.Time
	size int64
}

// loadCertificate loads the pair, failing when it does not load: at start
// there is no previous pair to keep.
func loadCertificate(certFile, keyFile string, log *slog.Logger) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile, log: log}
	stamp, err := c.stampFiles()
	if err == nil {
		err = c.load(stamp)
	}
	if err != nil {
		return nil, fmt.Errorf("TOKENSVC_TLS_CERT_FILE and TOKENSVC_TLS_KEY_FILE: %w", err)
	}
	c.checked = time.Now()
	return c, nil
}

// get is tls.Config.GetCertificate.
func (c *certificate) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.checked) >= certCheckEvery {
		c.checked = time.Now()
		c.reloadIfChanged()
	}
	return c.cert, nil
}

// reloadIfChanged loads the pair again when its files changed since the
// last try; c.mu is held.
func (c *certificate) reloadIfChanged() {
	stamp, err := c.stampFiles()
	if err != nil {
		if c.tried != (fileStamp{}) {
			c.log.Warn("the TLS certificate files cannot be read; still serving the certificate loaded before", "err", err)
		}
		c.tried = fileStamp{}
		return
	}
	if stamp == c.tried || stamp == c.stamp {
		return
	}
	c.tried = stamp
	if err := c.load(stamp); err != nil {
		c.log.Warn("the changed TLS certificate files do not load; still serving the certificate loaded before", "err", err)
		return
	}
	c.log.Info("loaded the changed TLS certificate", "cert_file", c.certFile)
}

// load parses the pair; c.mu is held or c is not shared yet.
func (c *certificate) load(stamp fileStamp) error {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cert, c.stamp, c.tried = &cert, stamp, stamp
	return nil
}

func (c *certificate) stampFiles() (fileStamp, error) {
	var s fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return fileStamp{}, err
		}
		s[i].mod, s[i].size = fi.ModTime(), fi.Size()
	}
	return s, nil
}
