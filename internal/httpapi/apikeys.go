package httpapi

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/tokenclient"
)

type createAPIKeyRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// ExpiresAt is an RFC 3339 time in the future; empty or absent: never.
	ExpiresAt string `json:"expires_at"`
}

// expiry is the request's expires_at, or the zero time for none.
func (req createAPIKeyRequest) expiry() (time.Time, error) {
	if req.ExpiresAt == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, req.ExpiresAt)
	if err != nil {
		return time.Time{}, badField(apikey.ExpiresAtField, "expires_at must be an RFC 3339 time, such as 2027-03-01T00:00:00Z")
	}
	return t, nil
}

// viewOf is an API key as the admin API shows it, in tokenclient's wire
// type.
func viewOf(k apikey.Key) tokenclient.APIKey {
	v := tokenclient.APIKey{ID: k.ID, Name: k.Name, Scope: string(k.Scope), Hint: k.Hint, CreatedAt: k.CreatedAt,
		RevokedAt: timeOrNil(k.RevokedAt), ExpiresAt: timeOrNil(k.ExpiresAt), LastUsedAt: timeOrNil(k.LastUsedAt)}
	return v
}

// timeOrNil is t, or nil for the zero time: a field the answer leaves out.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (a *api) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var req createAPIKeyRequest
	if err := decodeJSON(r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	expires, err := req.expiry()
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	k, secret, err := a.apiKeys.CreateExpiring(r.Context(), req.Name, apikey.Scope(req.Scope), expires)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "API key created", "id", k.ID, "scope", k.Scope, "expires_at", timeOrNil(k.ExpiresAt), "by", callerID(r))
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
