package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/console"
)

// consoleHandler is the operator console under cfg, or nil when
// TOKENSVC_CONSOLE is false.
func (s *Server) consoleHandler(cfg config.Config) http.Handler {
	if !cfg.Console {
		return nil
	}
	return console.New(console.Deps{
		SignIns:        consoleSignInsPending{Registry: s.apiKeys},
		Logger:         s.log,
		Now:            s.now,
		TrustedProxies: cfg.TrustedProxies,
		// TLS is served on the public address only, and the console is
		// there only when there is no admin address.
		Secure: cfg.TLSCertFile != "" && cfg.AdminAddr == "",
	})
}

// consoleSignInsPending is TEMPORARY (issue 18): it stands in for
// *apikey.Registry's StartConsole, ResumeConsole and EndConsole, built on
// another branch, so that this one compiles; until they land, every
// sign-in is refused. It stops compiling once they land (the embedded
// types then both have the methods: ambiguous), and the merge replaces
// it with SignIns: s.apiKeys.
type consoleSignInsPending struct {
	*apikey.Registry // Verify
	consoleNotBuilt
}

type consoleNotBuilt struct{}

var errConsoleNotBuilt = errors.New("console sign-in is not built into this version of tokensvc")

func (consoleNotBuilt) StartConsole(context.Context, string) (apikey.ConsoleSession, string, error) {
	return apikey.ConsoleSession{}, "", errConsoleNotBuilt
}

func (consoleNotBuilt) ResumeConsole(context.Context, string) (apikey.ConsoleSession, apikey.Key, error) {
	return apikey.ConsoleSession{}, apikey.Key{}, apikey.ErrConsoleSessionEnded
}

func (consoleNotBuilt) EndConsole(context.Context, apikey.ConsoleSession) error { return nil }
