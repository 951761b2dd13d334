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
	// ActionConfirm is an operator saying a key's PEM is in the dashboard:
	// a write that changes no state.
	ActionConfirm = "key.confirm"
	// ActionImport is an operator bringing in a private key made
	// elsewhere (import.go). Its event is key.created, as for a key made
	// here, so that whoever acts on key.created acts on it too.
	ActionImport = "key.import"
)

// actionFor names the change of a key into state s.
var actionFor = map[State]string{
	StateActive:  ActionActivate,
	StateRetired: ActionRetire,
	StateExpired: ActionExpire,
	StateRevoked: ActionRevoke,
}

// operation is the change an operator asked for, which the audit log
// records as one entry whatever else it changes (an activation retires
// the active key; a revocation may make another key sign): on the first
// write whose transition is the action, or else on the first write (a
// confirmation changes no state). The zero operation is the schedule's,
// which records every transition. A decide function may set outcome (to
// OutcomeForced when it overrode a guard): update reads it after decide.
type operation struct {
	action  string // ActionCreate, ActionImport, ActionActivate, ActionConfirm or ActionRevoke
	outcome string // journal.OutcomeOK, or journal.OutcomeForced
}

// scheduled is the schedule's operation.
var scheduled = operation{}

// transition names the change from old (existed false: none) to w, or ""
// when its state did not change.
func transition(old Record, existed bool, w Record) string {
	switch {
	case !existed:
		return ActionCreate
	case old.State == w.State:
		return ""
	}
	return actionFor[w.State]
}

// journalOf is what writes, made at now over the records ks, record: the
// audit entries of op by the actor ctx carries (the scheduler when none),
// and the events an operator must hear of, directing them in say's words. An operator's op is one entry,
// on the key it acted on; the schedule's is an entry per transition, a
// microsecond apart in the order of writes so that the log lists a swap's
// retirement and activation in the order they happened.
func journalOf(ctx context.Context, ks keySet, writes []Record, now time.Time, op operation, say Directions) journal.Record {
	var (
		j   journal.Record
		at  = now.UTC().Truncate(time.Microsecond)
		by  = journal.ActorFrom(ctx).String()
		rev string // the kid of an active key writes revoke
	)
	audit := func(action, kid, outcome string) {
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
		pem := say.PEMPath(w.KID)
		old, existed := ks.byKID(w.KID)
		change := transition(old, existed, w)
		switch {
		case op == scheduled && change != "":
			audit(change, w.KID, journal.OutcomeOK)
			if change == ActionCreate && w.State == StateActive {
				audit(ActionActivate, w.KID, journal.OutcomeOK)
			}
		case op != scheduled && change == op.action && len(j.Audit) == 0:
			audit(op.action, w.KID, op.outcome)
		}
		switch {
		case change == "":
		case !existed && op.action == ActionImport && w.Registered():
			// The one step left is the operator's, who just imported it.
			event("key.created", w, "Signing key "+w.KID+" was imported by "+by+", confirmed in the MoEngage dashboard by "+
				w.RegisteredBy+", and is published: activate it: "+say.Command("activate", w.KID))
		case !existed && op.action == ActionImport:
			event("key.created", w, "Signing key "+w.KID+" was imported by "+by+" and is published: add its PEM ("+pem+
				") to the MoEngage dashboard if it is not there, confirm it ("+say.Command("confirm", w.KID)+"), then activate it: "+say.Command("activate", w.KID))
		case !existed && w.State == StatePending:
			event("key.created", w, "Signing key "+w.KID+" was created by "+by+" and is published: add its PEM ("+pem+
				") to the MoEngage dashboard, then activate it: "+say.Command("activate", w.KID))
		case w.State == StateActive && rev != "" && !w.Registered():
			// An emergency: whether brand new or the pending key nobody
			// confirmed, MoEngage may not have it.
			what := "is brand new"
			if existed {
				what = "was pending and nobody confirmed it is in the dashboard"
			}
			event("key.replacement_signing", w, "Signing key "+w.KID+" "+what+"; it signs now in place of revoked key "+rev+
				", and MoEngage rejects its tokens until its PEM ("+pem+") is registered: register its PEM now, then run: "+say.Command("confirm", w.KID))
		case !existed && w.State == StateActive:
			event("key.created", w, "Signing key "+w.KID+" was created by "+by+" and signs now: add its PEM ("+pem+
				") to the MoEngage dashboard, which rejects its tokens until then.")
			event("key.activated", w, "Signing key "+w.KID+" signs now; its PEM ("+pem+") must be in the MoEngage dashboard.")
		case w.State == StateActive:
			event("key.activated", w, "Signing key "+w.KID+" was activated by "+by+" and signs now; its PEM ("+pem+
				") must be in the MoEngage dashboard.")
		case w.State == StateExpired && w.Registered():
			event("key.removable", w, "Signing key "+w.KID+" has expired: no token it signed is still valid. Remove it from the MoEngage dashboard.")
		case w.State == StateRevoked:
			event("key.revoked", w, "Signing key "+w.KID+" was revoked by "+by+
				" and is no longer published: remove it from the MoEngage dashboard.")
		}
	}
	if op != scheduled && len(j.Audit) == 0 && len(writes) > 0 {
		audit(op.action, writes[0].KID, op.outcome)
	}
	return j
}
