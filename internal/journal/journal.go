// Package journal holds what a change records beside itself, in the same
// store transaction: audit-log entries, and events for the outbox that the
// webhook sender delivers at least once.
//
// This is the types-only skeleton the webhook sender builds against; the
// full package (with its stores' contract) replaces it.
package journal

import (
	"context"
	"time"
)

// Actor is who made a change.
type Actor struct {
	Kind string // "api_key", "scheduler", "offline"
	ID   string // API key id for Kind "api_key"; "" otherwise
	Name string // API key name for Kind "api_key"; "" otherwise
}

type actorKey struct{}

type requestIDKey struct{}

// WithActor returns ctx carrying a, for the changes made under it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the Actor in ctx: zero Actor{Kind:"scheduler"} when none is set.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "scheduler"}
}

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Entry is one audit-log line.
type Entry struct {
	ID     string // "aud_" + random
	At     time.Time
	Actor  Actor
	Action string // e.g. "apikey.create", "apikey.revoke", "key.create", "key.confirm",
	// "key.activate", "key.revoke", "key.retire", "key.expire",
	// "sessions.end", "masterkey.rotate" (later)
	Target    string // API key id, kid, or user id
	Outcome   string // "ok", "forced" (a guard overridden), or "refused: <problem type>"
	RequestID string
}

// Event is one notification in the outbox; its ID stays the same across delivery retries.
type Event struct {
	ID   string // "evt_" + random
	Type string // key.created, key.activated, key.rotation_overdue, key.removable,
	// key.revoked, key.replacement_signing, apikey.created,
	// apikey.revoked, session.reuse_detected
	CreatedAt time.Time
	Message   string  // one or two plain sentences saying what happened and what to do
	Key       *KeyRef // set for key.* events
}

// KeyRef is the signing key a key.* event is about. (pem_url is not
// stored: the sender renders "/v1/keys/<kid>/public.pem".)
type KeyRef struct {
	KID          string
	State        string
	Dashboard    string    // add | keep | remove | none
	PublishUntil time.Time // zero if none
}

// Record is what one change writes beside itself.
type Record struct {
	Audit  []Entry
	Events []Event
}

// Pending is an undelivered event as the outbox hands it to a sender.
type Pending struct {
	Event
	Attempts int // deliveries tried so far
}

// Outbox is the store side of at-least-once delivery (both stores implement it).
type Outbox interface {
	// ClaimEvents returns up to limit undelivered events whose next attempt is due at now,
	// oldest first, and hides them from other claimers until now+lease (PostgreSQL: one
	// transaction, SELECT … FOR UPDATE SKIP LOCKED, then set claimed_until / next_attempt_at).
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Pending, error)
	// EventDelivered marks it delivered; it is never claimed again.
	EventDelivered(ctx context.Context, id string, at time.Time) error
	// EventFailed records a failed attempt (attempts+1) and when to try next; a zero next
	// means give up (kept, marked abandoned, never claimed again).
	EventFailed(ctx context.Context, id string, next time.Time, reason string) error
	// OldestUndelivered returns the creation time of the oldest event neither delivered nor
	// abandoned, and false when there is none.
	OldestUndelivered(ctx context.Context) (time.Time, bool, error)
}

// Audit is the store side of the audit log (both stores implement it).
type Audit interface {
	// AppendAudit writes entries on their own (a refused attempt, which changes nothing else).
	AppendAudit(ctx context.Context, entries ...Entry) error
	// AuditEntries returns up to limit entries older than before (zero: newest), newest first.
	AuditEntries(ctx context.Context, limit int, before time.Time) ([]Entry, error)
	// DeleteAuditBefore deletes up to limit entries older than t and says how many.
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error)
}
