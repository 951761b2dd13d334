package keys

import (
	"context"
	"time"

	"github.com/tokensvc/tokensvc/internal/journal"
)

// The audited key actions.
const (
	ActionCreate   = "key.create"
	ActionActivate = "key.activate"
	ActionRetire   = "key.retire"
	ActionExpire   = "key.expire"
	ActionRevoke   = "key.revoke"
)

// actionFor names the change of a key into state s.
var actionFor = map[State]string{
	StateActive:  ActionActivate,
	StateRetired: ActionRetire,
	StateExpired: ActionExpire,
	StateRevoked: ActionRevoke,
}

// journalOf is what writes, made at now over the records ks, record: an
// audit entry for each change of state by the actor ctx carries (the
// scheduler when none), with outcome, and the events an operator must hear
// of. Entries are a microsecond apart in the order of writes, so the log
// lists a swap's retirement and activation in the order they happened.
func journalOf(ctx context.Context, ks keySet, writes []Record, now time.Time, outcome string) journal.Record {
	var (
		j   journal.Record
		at  = now.UTC().Truncate(time.Microsecond)
		by  = journal.ActorFrom(ctx).String()
		rev string // the kid of an active key writes revoke
	)
	audit := func(action, kid string) {
		j.Audit = append(j.Audit, journal.NewEntry(ctx, at.Add(time.Duration(len(j.Audit))*time.Microsecond), action, kid, outcome))
	}
	event := func(typ string, rec Record, message string) {
		j.Events = append(j.Events, journal.NewEvent(typ, at, message, &journal.KeyRef{
			KID: rec.KID, State: string(rec.State), Dashboard: string(Dashboard(rec, now)), PublishUntil: rec.PublishUntil,
		}))
	}
	for _, w := range writes {
		if old, ok := ks.byKID(w.KID); ok && old.State == StateActive && w.State == StateRevoked {
			rev = w.KID
		}
	}
	for _, w := range writes {
		pem := "/v1/keys/" + w.KID + "/public.pem"
		old, existed := ks.byKID(w.KID)
		if !existed {
			audit(ActionCreate, w.KID)
		}
		if existed && old.State == w.State {
			continue
		}
		if w.State != StatePending {
			audit(actionFor[w.State], w.KID)
		}
		switch {
		case !existed && w.State == StatePending:
			event("key.created", w, "Signing key "+w.KID+" was created by "+by+" and is published: add its PEM ("+pem+
				") to the MoEngage dashboard, then activate it: tokensvc keys activate "+w.KID)
		case !existed && w.State == StateActive && rev != "":
			event("key.replacement_signing", w, "Signing key "+w.KID+" is brand new and signs now in place of revoked key "+rev+
				"; MoEngage rejects its tokens until its PEM ("+pem+") is registered: register its PEM now.")
		case !existed && w.State == StateActive:
			event("key.created", w, "Signing key "+w.KID+" was created by "+by+" and signs now: add its PEM ("+pem+
				") to the MoEngage dashboard, which rejects its tokens until then.")
			event("key.activated", w, "Signing key "+w.KID+" signs now; its PEM ("+pem+") must be in the MoEngage dashboard.")
		case w.State == StateActive:
			event("key.activated", w, "Signing key "+w.KID+" was activated by "+by+" and signs now; its PEM ("+pem+
				") must be in the MoEngage dashboard.")
		case w.State == StateRevoked:
			event("key.revoked", w, "Signing key "+w.KID+" was revoked by "+by+
				" and is no longer published: remove it from the MoEngage dashboard.")
		}
	}
	return j
}
