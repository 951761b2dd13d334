package httpapi

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/tokenclient"
)

type createAPIKeyRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

// viewOf is an API key as the admin API shows it, in tokenclient's wire
// type.
func viewOf(k apikey.Key) tokenclient.APIKey {
	v := tokenclient.APIKey{ID: k.ID, Name: k.Name, Scope: string(k.Scope), Hint: k.Hint, CreatedAt: k.CreatedAt}
	if k.Revoked() {
		at := k.RevokedAt
		v.RevokedAt = &at
	}
	return v
}

func (a *api) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var req createAPIKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	k, secret, err := a.apiKeys.Create(r.Context(), req.Name, apikey.Scope(req.Scope))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "API key created", "id", k.ID, "scope", k.Scope, "by", callerID(r))
	v := viewOf(k)
	v.Secret = secret
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/apikeys/"+k.ID)
	writeJSON(w, http.StatusCreated, v)
}

func (a *api) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	ks, err := a.apiKeys.List(r.Context())
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	views := make([]tokenclient.APIKey, 0, len(ks))
	for _, k := range ks {
		views = append(views, viewOf(k))
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, struct {
		APIKeys []tokenclient.APIKey `json:"api_keys"`
	}{views})
}

func (a *api) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := a.apiKeys.Revoke(r.Context(), id); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "API key revoked", "id", id, "by", callerID(r))
	w.WriteHeader(http.StatusNoContent)
}
