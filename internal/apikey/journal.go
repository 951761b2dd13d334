package apikey

import (
	"context"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// The audited actions on API keys.
const (
	ActionCreate = "apikey.create"
	ActionRevoke = "apikey.revoke"
)

// ProblemLastAdminKey is the problem type of ErrLastAdminKey, which its
// refusal's audit entry names too.
const ProblemLastAdminKey = "last-admin-key"

// createdRecord is what creating k records: who created it, and an
// apikey.created event, since a key nobody expected is a key to revoke.
func createdRecord(ctx context.Context, k Key) journal.Record {
	by := journal.ActorFrom(ctx)
	expires := "never expires"
	if !k.ExpiresAt.IsZero() {
		expires = "expires at " + k.ExpiresAt.UTC().Format(time.RFC3339)
	}
	created := journal.NewEntry(ctx, k.CreatedAt, ActionCreate, k.ID, journal.OutcomeOK)
	created.Detail = "scope=" + string(k.Scope) + " expires_at=never"
	if !k.ExpiresAt.IsZero() {
		created.Detail = "scope=" + string(k.Scope) + " expires_at=" + k.ExpiresAt.UTC().Format(time.RFC3339Nano)
	}
	return journal.Record{
		Audit: []journal.Entry{created},
		Events: []journal.Event{journal.NewEvent("apikey.created", k.CreatedAt,
			"API key "+k.ID+" ("+k.Name+", scope "+string(k.Scope)+", "+expires+") was created by "+by.String()+
				". If nobody expected it, revoke it: tokensvc apikey revoke "+k.ID, nil)},
	}
}

// revokedRecord is what revoking the key id at at records.
func revokedRecord(ctx context.Context, id string, at time.Time) journal.Record {
	return journal.Record{
		Audit: []journal.Entry{journal.NewEntry(ctx, at, ActionRevoke, id, journal.OutcomeOK)},
		Events: []journal.Event{journal.NewEvent("apikey.revoked", at,
			"API key "+id+" was revoked by "+journal.ActorFrom(ctx).String()+"; requests made with it are refused from now on.", nil)},
	}
}
