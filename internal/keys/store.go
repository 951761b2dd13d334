package keys

import "context"

// Store persists signing key records. The Postgres and embedded stores both
// implement it, and one contract suite (internal/storetest) tests both.
type Store interface {
	// SigningKeys returns every key record, oldest first.
	SigningKeys(ctx context.Context) ([]Record, error)

	// EnsureActiveKey returns the active key record. If there is none it
	// calls generate and stores the result as the active key, reporting
	// created. It is atomic across every process sharing the store: when
	// several start together on an empty store, exactly one key is created
	// and all of them return it.
	EnsureActiveKey(ctx context.Context, generate func() (Record, error)) (rec Record, created bool, err error)
}
