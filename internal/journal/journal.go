// Package journal is what a change to tokensvc records beside itself: an
// audit-log entry saying who did what, and events in an outbox from which
// notifications are delivered. Both are written in the same store
// transaction as the change, so a change that rolls back records nothing and
// a committed change is never left unrecorded.
package journal

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"time"
)

// The actor kinds.
const (
	ActorAPIKey    = "api_key"
	ActorScheduler = "scheduler"
	ActorOffline   = "offline"
)

// Actor is who made a change.
type Actor struct {
	Kind string // "api_key", "scheduler", "offline"
	ID   string // API key id for Kind "api_key"; "" otherwise
	Name string // API key name for Kind "api_key"; "" otherwise
}

// String names the actor for people: "API key ak_… (name)", "the
// scheduler" or "an offline command". An API key may be known by its id
// alone (a console sign-out after its key was revoked) or not at all (a
// refused console sign-in with a key tokensvc does not know).
func (a Actor) String() string {
	switch a.Kind {
	case ActorAPIKey:
		switch {
		case a.ID == "":
			return "an unknown API key"
		case a.Name == "":
			return "API key " + a.ID
		}
		return "API key " + a.ID + " (" + a.Name + ")"
	case ActorOffline:
		return "an offline command"
	case ActorScheduler, "":
		return "the scheduler"
	}
	return a.Kind
}

type actorKey struct{}

type requestIDKey struct{}

// WithActor returns ctx carrying a, the actor of the changes made under it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor ctx carries: the scheduler when none was set,
// since only tokensvc itself changes anything without one.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: ActorScheduler}
}

// WithRequestID returns ctx carrying the id of the request it serves.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id ctx carries, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// The outcomes of an audited action other than a refusal.
const (
	OutcomeOK     = "ok"
	OutcomeForced = "forced" // done though a guard would have refused it
)

// Refused is the outcome of an attempt refused with the given problem type
// (such as "last-admin-key").
func Refused(problemType string) string { return "refused: " + problemType }

// Entry is one audit-log line.
type Entry struct {
	ID        string // "aud_" + random
	At        time.Time
	Actor     Actor
	Action    string // e.g. "apikey.create", "key.activate", "sessions.end"
	Target    string // API key id, kid, or user id
	Outcome   string // "ok", "forced", or "refused: <problem type>"
	RequestID string
	// Detail is what the action was given beyond its target, in words
	// ("expires_at=2027-03-01T00:00:00Z" for an API key made to expire);
	// "" for most entries.
	Detail string
}

// NewEntry returns the entry for action on target at at, by the actor and
// in the request that ctx carries.
func NewEntry(ctx context.Context, at time.Time, action, target, outcome string) Entry {
	return Entry{
		ID:        newID("aud_"),
		At:        at.UTC().Truncate(time.Microsecond),
		Actor:     ActorFrom(ctx),
		Action:    action,
		Target:    target,
		Outcome:   outcome,
		RequestID: RequestIDFrom(ctx),
	}
}

// Event is one notification in the outbox; its ID stays the same across
// delivery retries, so a receiver can drop a duplicate.
type Event struct {
	ID        string // "evt_" + random
	Type      string // key.created, key.activated, ..., session.reuse_detected
	CreatedAt time.Time
	// Message is one or two plain sentences saying what happened and what
	// to do.
	Message string
	Key     *KeyRef // set for key.* events
}

// KeyRef is the signing key a key.* event is about. Its PEM URL is not
// stored: the sender renders it (httpapi.Directions.PEMPath).
type KeyRef struct {
	KID          string
	State        string
	Dashboard    string    // add | keep | remove | none
	PublishUntil time.Time // zero if none
}

// NewEvent returns a new event of type typ created at at.
func NewEvent(typ string, at time.Time, message string, key *KeyRef) Event {
	return Event{ID: newID("evt_"), Type: typ, CreatedAt: at.UTC().Truncate(time.Microsecond), Message: message, Key: key}
}

// Record is what one change writes beside itself.
type Record struct {
	Audit  []Entry
	Events []Event
}

// Empty reports whether r records nothing.
func (r Record) Empty() bool { return len(r.Audit) == 0 && len(r.Events) == 0 }

// ErrUnknownEvent is returned for an event id the outbox does not hold.
var ErrUnknownEvent = errors.New("no such event in the outbox")

// Pending is an undelivered event as the outbox hands it to a sender.
type Pending struct {
	Event
	Attempts int // deliveries tried so far
}

// Outbox is the store side of at-least-once delivery (both stores
// implement it).
type Outbox interface {
	// ClaimEvents returns up to limit undelivered events whose next attempt
	// is due at now, oldest first, and hides them from other claimers
	// until now+lease.
	ClaimEvents(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Pending, error)
	// EventDelivered marks it delivered; it is never claimed again.
	EventDelivered(ctx context.Context, id string, at time.Time) error
	// EventFailed records a failed attempt (attempts+1) and when to try
	// next; a zero next means give up (kept, marked abandoned, never
	// claimed again).
	EventFailed(ctx context.Context, id string, next time.Time, reason string) error
	// OldestUndelivered returns the creation time of the oldest event
	// neither delivered nor abandoned, and false when there is none.
	OldestUndelivered(ctx context.Context) (time.Time, bool, error)
	// AddEvent writes ev on its own unless an event with its id is
	// already in the outbox, and says whether it wrote it. An event that
	// every replica may make alike (a daily reminder) is written once under
	// an id they all derive the same way.
	AddEvent(ctx context.Context, ev Event) (bool, error)
}

// Audit is the store side of the audit log (both stores implement it).
type Audit interface {
	// AppendAudit writes entries on their own (a refused attempt, which
	// changes nothing else).
	AppendAudit(ctx context.Context, entries ...Entry) error
	// AuditEntries returns up to limit entries older than before (zero:
	// newest), newest first.
	AuditEntries(ctx context.Context, limit int, before time.Time) ([]Entry, error)
	// DeleteAuditBefore deletes up to limit entries older than t and says
	// how many.
	DeleteAuditBefore(ctx context.Context, t time.Time, limit int) (int, error)
}

// newID returns prefix and 130 random bits, in lower-case base32.
func newID(prefix string) string {
	return prefix + strings.ToLower(rand.Text())
}
