package server

import (
	"net/http"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// consoleHandler is the operator console under cfg, or nil when
// TOKENSVC_CONSOLE is false.
func (s *Server) consoleHandler(cfg config.Config) http.Handler {
	if !cfg.Console {
		return nil
	}
	return console.New(console.Deps{
		SignIns:  s.apiKeys,
		KeyAdmin: s.rotator, // as httpapi.Deps.KeyAdmin: one way to change a key
		// The inspector answers as POST /v1/verify: the same rules,
		// against the keys published at each request.
		Verifier:       httpapi.PublishedVerifier{Rules: verifyRules(cfg), Keys: s.ring, Now: s.now},
		Sessions:       s.sessions,
		APIKeys:        s.apiKeys,
		Logger:         s.log,
		Now:            s.now,
		TrustedProxies: cfg.TrustedProxies,
		// TLS is served on the public address only, and the console is
		// there only when there is no admin address.
		Secure: cfg.TLSCertFile != "" && cfg.AdminAddr == "",
		Audit:  s.store,
		Health: s.consoleHealth(),
	})
}

// consoleHealth is what the console's health panel reads: the checks and
// summaries the service already makes for /readyz, the metrics and the
// notifier, not others.
func (s *Server) consoleHealth() console.Health {
	h := console.Health{Ready: s.ready, Store: s.store, Signer: s.ring, Keys: s.rotator}
	if s.notifier != nil {
		h.Webhooks = s.store
	}
	return h
}

// verifyRules are the profile rules tokens are verified by, under cfg:
// POST /v1/verify's and the console inspector's.
func verifyRules(cfg config.Config) verify.Verifier {
	return verify.Verifier{Profile: cfg.Profile, SubjectKey: cfg.SubjectKey}
}
