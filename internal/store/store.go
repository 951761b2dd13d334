// Package store holds what every store backend (internal/postgres,
// internal/embedded) tells its callers in the same words, whatever the
// backend: it is a leaf, so keys, apikey, session and httpapi can test for
// it without importing a backend.
package store

import "errors"

// ErrUnavailable is matched (errors.Is) by an error meaning the store
// cannot be reached now, as opposed to one refusing the request: the
// caller answers it with "retry later" rather than a failure.
var ErrUnavailable = errors.New("store unavailable")
