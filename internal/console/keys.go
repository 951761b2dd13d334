package console

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/tokenclient"
)

// The keys page: what an operator does in the MoEngage dashboard about
// each signing key, and the buttons that tell tokensvc it was done. Its
// domain is httpapi.KeyAdmin, the one the admin API calls (the keys
// rotator implements it), so a key changed here changes exactly as through
// POST /v1/keys/…, audited as the signed-in API key.

// keysPage is what templates/keys.html shows.
type keysPage struct {
	// Rows are the keys, newest first: the key that needs a hand is on
	// top, and the old ones sink.
	Rows []keyRow
	// CanCreate is whether the service would make the next key now; when
	// not, Pending names the pending key in the way.
	CanCreate bool
	Pending   string
	Timeline  timeline
}

// keyRow is one key: the view GET /v1/keys gives, and what the page
// offers to do with it.
type keyRow struct {
	tokenclient.Key
	// Step is the dashboard value in plain words.
	Step string
	// PEM is the public key an operator pastes in the dashboard.
	PEM string
	// Confirm offers "I added it": the dashboard says add.
	Confirm bool
	// Activate offers Activate: the key is pending. Guard, when the key
	// is not confirmed, is the warning the activation guard answers with.
	Activate bool
	Guard    *httpapi.Explanation
	// Revoke offers Revoke: the key is pending, active or retired, the
	// states revocation leaves.
	Revoke bool
}

// keysView reads the keys and lays out the page.
func (c *console) keysView(ctx context.Context) (*keysPage, error) {
	recs, err := c.keyAdmin.Keys(ctx)
	if err != nil {
		return nil, err
	}
	now := c.now()
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b keys.Record) int { return b.CreatedAt.Compare(a.CreatedAt) })
	p := &keysPage{CanCreate: true, Timeline: newTimeline(recs, now)}
	for _, rec := range recs {
		v := httpapi.KeyView(rec, now)
		row := keyRow{
			Key:      v,
			Step:     httpapi.Directions{}.DashboardStep(keys.DashboardAction(v.Dashboard)),
			PEM:      string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rec.PublicKey})),
			Confirm:  keys.DashboardAction(v.Dashboard) == keys.DashboardAdd,
			Activate: rec.State == keys.StatePending,
			Revoke:   rec.State.Published(),
		}
		if row.Activate && !rec.Registered() {
			e := httpapi.Explain(&keys.NotRegisteredError{KID: rec.KID})
			row.Guard = &e
		}
		if rec.State == keys.StatePending {
			// The rotator makes one pending key at a time.
			p.CanCreate, p.Pending = false, rec.KID
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

// showKeys shows the keys.
func (c *console) showKeys(w http.ResponseWriter, r *http.Request) {
	p, err := c.keysView(r.Context())
	if err != nil {
		c.renderError(w, r, "keys", err, nil)
		return
	}
	c.render(w, r, "keys", http.StatusOK, p)
}

// keysFailed shows the keys page again with err, the change that failed,
// in the words and status the API gives it.
func (c *console) keysFailed(w http.ResponseWriter, r *http.Request, err error) {
	// When the keys cannot be read either, the failure of the change is
	// still what the operator asked about: it is shown alone.
	p, _ := c.keysView(r.Context())
	c.renderError(w, r, "keys", err, p)
}

// createKey makes the next, pending, key.
func (c *console) createKey(w http.ResponseWriter, r *http.Request) {
	rec, err := c.keyAdmin.Create(r.Context())
	if err != nil {
		c.keysFailed(w, r, err)
		return
	}
	c.redirect(w, r, Prefix+"/keys", "Key "+rec.KID+" created: add its PEM in MoEngage ("+httpapi.DashboardPlace+
		"), then press I added it.")
}

// confirmKey records that the key's PEM is in the MoEngage dashboard.
func (c *console) confirmKey(w http.ResponseWriter, r *http.Request) {
	kid := pathParam(r, "kid")
	rec, err := c.keyAdmin.Confirm(r.Context(), kid, httpapi.ConfirmedBy(journal.ActorFrom(r.Context())))
	if err != nil {
		c.keysFailed(w, r, err)
		return
	}
	msg := "Key " + rec.KID + " confirmed in MoEngage."
	switch rec.State {
	case keys.StatePending:
		msg += " Activate it when it should start signing."
	case keys.StateActive:
		msg += " It signs, and MoEngage accepts its tokens: nothing more to do."
	}
	c.redirect(w, r, Prefix+"/keys", msg)
}

// activateKey makes the pending key sign. A key nobody confirmed is in the
// dashboard is refused by the guard (409, its warning shown) unless the
// form says force=true: the operator ticked "Activate anyway".
func (c *console) activateKey(w http.ResponseWriter, r *http.Request) {
	kid := pathParam(r, "kid")
	force := r.PostFormValue("force") == "true"
	activated, retired, err := c.keyAdmin.Activate(r.Context(), kid, force)
	if err != nil {
		c.keysFailed(w, r, err)
		return
	}
	msg := "Key " + activated.KID + " now signs."
	if !activated.Registered() {
		msg += " Nobody confirmed it is in MoEngage, which refuses its tokens until it is: add its PEM now (" +
			httpapi.DashboardPlace + "), then press I added it."
	}
	if retired != nil {
		msg += " Key " + retired.KID + " retired: keep it in MoEngage until " + when(retired.PublishUntil) +
			", when its last token has expired."
	}
	c.redirect(w, r, Prefix+"/keys", msg)
}

// errConfirmKID refuses a revocation whose typed kid is not the key's.
var errConfirmKID = errors.New("the typed kid does not match")

// revokeKey stops publishing the key at once: the emergency action for a
// leaked key. The operator must have typed its kid, so that a slip of the
// mouse revokes nothing; without it the answer is 422 and nothing changes.
func (c *console) revokeKey(w http.ResponseWriter, r *http.Request) {
	kid := pathParam(r, "kid")
	if r.PostFormValue("confirm_kid") != kid {
		p, _ := c.keysView(r.Context()) // nil, and the refusal alone, if unreadable
		c.write(w, r, "keys", http.StatusUnprocessableEntity, p, &failure{
			Status: http.StatusUnprocessableEntity, Title: "Not revoked",
			Detail: "To revoke key " + kid + ", type its kid exactly in “Type the kid to confirm”. Nothing was changed.",
		})
		return
	}
	rv, err := c.keyAdmin.Revoke(r.Context(), kid)
	if err != nil {
		c.keysFailed(w, r, err)
		return
	}
	c.redirect(w, r, Prefix+"/keys", revokedMessage(rv, c.now()))
}

// revokedMessage says what revoking did and what the operator does next
// in the dashboard.
func revokedMessage(rv keys.Revocation, now time.Time) string {
	say := httpapi.Directions{}
	msg := "Key " + rv.Revoked.KID + " revoked: it is no longer published. " +
		say.DashboardStep(keys.Dashboard(rv.Revoked, now)) + "."
	if rep := rv.Replacement; rep != nil {
		msg += " Key " + rep.KID + " now signs in its place. " + say.DashboardStep(keys.Dashboard(*rep, now))
		if keys.Dashboard(*rep, now) == keys.DashboardAdd {
			msg += " now, as MoEngage refuses its tokens until it is there, then press I added it"
		}
		msg += "."
	}
	return msg
}
