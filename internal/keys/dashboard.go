package keys

import (
	"log/slog"
	"time"
)

// DashboardAction is what an operator must do now with a key in a verifier
// whose keys are registered by hand, such as MoEngage's dashboard. It
// follows from whether the key is published and whether an operator
// confirmed it is registered (Record.RegisteredAt).
type DashboardAction string

// The actions.
const (
	// DashboardAdd: the key is published and nobody confirmed it is
	// registered, whatever its state: the first key and an emergency
	// replacement sign before anyone could register them.
	DashboardAdd DashboardAction = "add"
	// DashboardKeep: confirmed, and it signs, is about to, or tokens it
	// signed are live.
	DashboardKeep DashboardAction = "keep"
	// DashboardRemove: confirmed, and no token it signed is live any more
	// (or it was revoked): remove it if it is still registered.
	DashboardRemove DashboardAction = "remove"
	// DashboardNone: never confirmed and no longer published: nothing to do.
	DashboardNone DashboardAction = "none"
)

// Dashboard returns what the operator must do with rec at now.
func Dashboard(rec Record, now time.Time) DashboardAction {
	published := rec.publishedAt(now)
	switch {
	case !rec.Registered() && published:
		return DashboardAdd
	case !rec.Registered():
		return DashboardNone
	case published:
		return DashboardKeep
	}
	return DashboardRemove
}

// LogChange logs a key's new state with what the operator must do about
// it, in say's words (nil: none).
func LogChange(log *slog.Logger, rec Record, say Directions) {
	say = orPlain(say)
	action := Dashboard(rec, time.Now())
	attrs := []any{"kid", rec.KID, "state", rec.State, "dashboard", action}
	pem := say.PEMPath(rec.KID)
	switch rec.State {
	case StatePending:
		log.Warn("created the next signing key; register its public key in the dashboard, confirm it ("+say.Command("confirm", rec.KID)+"), then activate it", append(attrs, "pem", pem)...)
	case StateActive:
		if action == DashboardAdd {
			// The first key, or one forced active: it signs already.
			log.Warn("signing key activated, and nobody confirmed it is in the MoEngage dashboard, which refuses its tokens until it is: register its PEM now, then run "+say.Command("confirm", rec.KID), append(attrs, "pem", pem)...)
			return
		}
		log.Info("signing key activated", attrs...)
	case StateRetired:
		log.Info("signing key retired; it stays published until its last token expires", append(attrs, "publish_until", rec.PublishUntil)...)
	case StateExpired, StateRevoked:
		if action == DashboardNone {
			log.Info("signing key "+string(rec.State)+"; it was never confirmed in the dashboard: remove it there only if it was added", attrs...)
			return
		}
		log.Warn("signing key "+string(rec.State)+"; remove it from the dashboard", attrs...)
	}
}
