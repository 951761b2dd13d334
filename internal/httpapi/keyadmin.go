package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// keyView is a signing key as the admin API shows it: no private half, with
// what the operator must do about it in the MoEngage dashboard.
type keyView struct {
	KID          string     `json:"kid"`
	Alg          string     `json:"alg"`
	Bits         int        `json:"bits"`
	State        keys.State `json:"state"`
	Fingerprint  string     `json:"fingerprint_sha256"`
	Dashboard    string     `json:"dashboard"`
	PEMURL       string     `json:"pem_url"`
	CreatedAt    time.Time  `json:"created_at"`
	ActivatedAt  *time.Time `json:"activated_at,omitempty"`
	RetiredAt    *time.Time `json:"retired_at,omitempty"`
	PublishUntil *time.Time `json:"publish_until,omitempty"`
	ExpiredAt    *time.Time `json:"expired_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
}

func keyViewOf(rec keys.Record, now time.Time) keyView {
	sum := sha256.Sum256(rec.PublicKey)
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		return &t
	}
	return keyView{
		KID:          rec.KID,
		Alg:          rec.Alg,
		Bits:         rec.Bits,
		State:        rec.State,
		Fingerprint:  hex.EncodeToString(sum[:]),
		Dashboard:    string(keys.Dashboard(rec, now)),
		PEMURL:       "/v1/keys/" + rec.KID + "/public.pem",
		CreatedAt:    rec.CreatedAt,
		ActivatedAt:  opt(rec.ActivatedAt),
		RetiredAt:    opt(rec.RetiredAt),
		PublishUntil: opt(rec.PublishUntil),
		ExpiredAt:    opt(rec.ExpiredAt),
		RevokedAt:    opt(rec.RevokedAt),
	}
}

func (a *api) listKeys(w http.ResponseWriter, r *http.Request) {
	recs, err := a.keyAdmin.Keys(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	now := a.now()
	views := make([]keyView, 0, len(recs))
	for _, rec := range recs {
		views = append(views, keyViewOf(rec, now))
	}
	writeJSON(w, http.StatusOK, struct {
		Keys []keyView `json:"keys"`
	}{views})
}

func (a *api) createKey(w http.ResponseWriter, r *http.Request) {
	rec, err := a.keyAdmin.Create(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "signing key created by operator", "kid", rec.KID, "by", callerID(r))
	w.Header().Set("Location", "/v1/keys/"+rec.KID+"/public.pem")
	writeJSON(w, http.StatusCreated, keyViewOf(rec, a.now()))
}

func (a *api) activateKey(w http.ResponseWriter, r *http.Request) {
	activated, retired, err := a.keyAdmin.Activate(r.Context(), chi.URLParam(r, "kid"))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "signing key activated by operator", "kid", activated.KID, "by", callerID(r))
	now := a.now()
	resp := struct {
		Activated keyView  `json:"activated"`
		Retired   *keyView `json:"retired,omitempty"`
	}{Activated: keyViewOf(activated, now)}
	if retired != nil {
		v := keyViewOf(*retired, now)
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
	resp := struct {
		Revoked     keyView  `json:"revoked"`
		Replacement *keyView `json:"replacement,omitempty"`
		Action      string   `json:"action"`
	}{Revoked: keyViewOf(rv.Revoked, now), Action: "Remove the revoked key from the MoEngage dashboard."}
	if rv.Replacement != nil {
		v := keyViewOf(*rv.Replacement, now)
		resp.Replacement = &v
		if rv.ReplacementWasPending {
			resp.Action = "The pending key " + v.KID + " now signs: make sure its PEM (" + v.PEMURL + ") is registered in the MoEngage dashboard, and remove the revoked key."
		} else {
			resp.Action = "A new key " + v.KID + " now signs and MoEngage rejects its tokens until its PEM (" + v.PEMURL + ") is registered: register it in the MoEngage dashboard now, and remove the revoked key."
		}
	}
	writeJSON(w, http.StatusOK, resp)
}
