package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/tokenclient"
)

// KeyView is a signing key as the admin API shows it: no private half,
// with what the operator must do about it in the MoEngage dashboard. The
// wire type is tokenclient's, so that the server and its client (the CLI's
// too) declare each field once; the console shows the same view, so that
// its page and GET /v1/keys never disagree.
func KeyView(rec keys.Record, now time.Time) tokenclient.Key {
	sum := sha256.Sum256(rec.PublicKey)
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return tokenclient.Key{
		KID:          rec.KID,
		Alg:          rec.Alg,
		Bits:         rec.Bits,
		State:        string(rec.State),
		Fingerprint:  hex.EncodeToString(sum[:]),
		Dashboard:    string(keys.Dashboard(rec, now)),
		PEMURL:       Directions{}.PEMPath(rec.KID),
		CreatedAt:    rec.CreatedAt,
		ActivatedAt:  opt(rec.ActivatedAt),
		RetiredAt:    opt(rec.RetiredAt),
		PublishUntil: opt(rec.PublishUntil),
		ExpiredAt:    opt(rec.ExpiredAt),
		RevokedAt:    opt(rec.RevokedAt),
		RegisteredAt: opt(rec.RegisteredAt),
		RegisteredBy: optString(rec.RegisteredBy),
	}
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (a *api) listKeys(w http.ResponseWriter, r *http.Request) {
	recs, err := a.keyAdmin.Keys(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	now := a.now()
	views := make([]tokenclient.Key, 0, len(recs))
	for _, rec := range recs {
		views = append(views, KeyView(rec, now))
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []tokenclient.Key `json:"keys"`
	}{views})
}

func (a *api) createKey(w http.ResponseWriter, r *http.Request) {
	rec, err := a.keyAdmin.Create(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "signing key created by operator", "kid", rec.KID, "by", callerID(r))
	w.Header().Set("Location", Directions{}.PEMPath(rec.KID))
	writeJSON(w, http.StatusCreated, KeyView(rec, a.now()))
}

// confirmKey records that the key's PEM is in the MoEngage dashboard.
// Confirming again answers the first confirmation, unchanged.
func (a *api) confirmKey(w http.ResponseWriter, r *http.Request) {
	rec, err := a.keyAdmin.Confirm(r.Context(), chi.URLParam(r, "kid"), callerLabel(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "signing key confirmed registered in the dashboard", "kid", rec.KID,
		"registered_at", rec.RegisteredAt, "registered_by", rec.RegisteredBy)
	writeJSON(w, http.StatusOK, KeyView(rec, a.now()))
}

// activateRequest is the optional body of POST /v1/keys/{kid}/activate.
type activateRequest struct {
	// Force activates a key nobody confirmed is in the dashboard.
	Force bool `json:"force"`
}

func (a *api) activateKey(w http.ResponseWriter, r *http.Request) {
	var req activateRequest
	if err := decodeOptionalJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	activated, retired, err := a.keyAdmin.Activate(r.Context(), chi.URLParam(r, "kid"), req.Force)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if activated.Registered() {
		a.log.InfoContext(r.Context(), "signing key activated by operator", "kid", activated.KID, "by", callerID(r))
	} else {
		a.log.WarnContext(r.Context(), "signing key activated by operator with force, though nobody confirmed it is in the MoEngage dashboard, which refuses its tokens until it is: register its PEM now, then run tokensvc keys confirm "+activated.KID,
			"kid", activated.KID, "by", callerID(r), "dashboard", keys.DashboardAdd)
	}
	now := a.now()
	resp := tokenclient.Activation{Activated: KeyView(activated, now)}
	if retired != nil {
		v := KeyView(*retired, now)
		resp.Retired = &v
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *api) revokeKey(w http.ResponseWriter, r *http.Request) {
	rv, err := a.keyAdmin.Revoke(r.Context(), chi.URLParam(r, "kid"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.WarnContext(r.Context(), "signing key revoked by operator", "kid", rv.Revoked.KID, "by", callerID(r))
	now := a.now()
	resp := tokenclient.Revocation{Revoked: KeyView(rv.Revoked, now)}
	resp.Action = "Remove the revoked key " + rv.Revoked.KID + " from the MoEngage dashboard."
	if !rv.Revoked.Registered() {
		resp.Action = "The revoked key " + rv.Revoked.KID + " was never confirmed in the MoEngage dashboard: remove it there if it was added."
	}
	if rep := rv.Replacement; rep != nil {
		v := KeyView(*rep, now)
		resp.Replacement = &v
		switch {
		case rep.Registered():
			resp.Action = "The pending key " + v.KID + " now signs; it was confirmed in the MoEngage dashboard. " + resp.Action
		default:
			which := "A brand-new key " + v.KID
			if rv.ReplacementWasPending {
				which = "The pending key " + v.KID + ", never confirmed in the dashboard,"
			}
			// Brand-new, or never confirmed: tokens it signs from now on
			// are refused until a person registers it.
			a.log.WarnContext(r.Context(), "emergency revoke: "+v.KID+" now signs, and MoEngage refuses its tokens until it is in the dashboard: register its PEM now, then run tokensvc keys confirm "+v.KID,
				"kid", v.KID, "pem", v.PEMURL, "revoked_kid", rv.Revoked.KID, "dashboard", v.Dashboard)
			resp.Action = which + " now signs, and MoEngage rejects its tokens until its PEM is in the dashboard: register its PEM now. " +
				"Fetch it from " + v.PEMURL + " (or tokensvc keys pem " + v.KID + "), register it in the MoEngage dashboard now, then run tokensvc keys confirm " + v.KID + ". " + resp.Action
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
