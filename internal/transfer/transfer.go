// Package transfer is what moves between stores: everything a store holds
// that a service on another store needs to carry on (signing keys still
// sealed, API key hashes, live sessions with their refresh-token hashes,
// the audit log, undelivered events), and the versioned JSON-lines file
// that carries it. Console sessions stay behind: they are a browser's
// sign-in to one service, and signing in again costs an operator seconds.
package transfer

import (
	"errors"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
)

// Contents is a store's contents, read in one transaction so that it is
// consistent, or to be written in one.
type Contents struct {
	// WrappedMasterKeys are the master keys a KMS wrapped for
	// TOKENSVC_MASTER_KEY_URL, oldest first, still wrapped: the target
	// unwraps them with the same KMS key, so that a KMS-configured store
	// moves with the master key its private keys are sealed under.
	WrappedMasterKeys []keys.WrappedMasterKey
	SigningKeys       []keys.Record
	APIKeys           []apikey.Key
	Sessions          []session.Session
	RefreshTokens     []session.RefreshToken
	Audit             []journal.Entry
	// Events are the outbox's undelivered events, neither delivered nor
	// abandoned, with the attempts made so far.
	Events []journal.Pending
}

// ErrNotEmpty is returned by a store's Load when it already holds a
// signing key or an API key: importing into it would mix two services'
// keys, which only an operator can decide.
var ErrNotEmpty = errors.New("the target store is not empty: it holds signing keys or API keys")

// Live returns c without the sessions that ended before now (revoked or
// past their absolute end) and their refresh tokens: those can never be
// used again, so there is nothing to carry.
func (c Contents) Live(now time.Time) Contents {
	live := make(map[string]bool)
	out := c
	out.Sessions, out.RefreshTokens = nil, nil
	for _, s := range c.Sessions {
		if s.RevokedAt.IsZero() && s.ExpiresAt.After(now) {
			live[s.ID] = true
			out.Sessions = append(out.Sessions, s)
		}
	}
	for _, t := range c.RefreshTokens {
		if live[t.SessionID] {
			out.RefreshTokens = append(out.RefreshTokens, t)
		}
	}
	return out
}

// Count is how many records c holds.
func (c Contents) Count() int {
	return len(c.WrappedMasterKeys) + len(c.SigningKeys) + len(c.APIKeys) + len(c.Sessions) + len(c.RefreshTokens) + len(c.Audit) + len(c.Events)
}

// The audit log's actions for moving a store.
const (
	// ActionBackup is a hot backup taken through the admin API.
	ActionBackup = "store.backup"
	// ActionImport is an import, recorded in the store imported into.
	ActionImport = "store.import"
)
