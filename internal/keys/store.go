package keys

import (
	"context"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// Store persists signing key records. The Postgres and embedded stores both
// implement it, and one contract suite (internal/storetest) tests both.
type Store interface {
	// SigningKeys returns every key record, oldest first.
	SigningKeys(ctx context.Context) ([]Record, error)

	// UpdateSigningKeys reads every record and calls decide with them,
	// oldest first, then writes the records decide returns, in order: a new
	// kid is inserted, a known one has its state, timestamps and private
	// half updated, with the journal record decide returns. The read,
	// decide and writes are one transaction,
	// exclusive across every process sharing the store, so replicas racing
	// to rotate see each other's changes and never both act. When anything
	// was written, other replicas are told.
	UpdateSigningKeys(ctx context.Context, decide func([]Record) ([]Record, journal.Record, error)) error
}
