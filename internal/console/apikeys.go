package console

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

// APIKeyAdmin lists, creates and revokes API keys; *apikey.Registry
// implements it.
type APIKeyAdmin interface {
	List(ctx context.Context) ([]apikey.Key, error)
	// CreateExpiring makes a key that stops working at expiresAt (zero:
	// never).
	CreateExpiring(ctx context.Context, name string, scope apikey.Scope, expiresAt time.Time) (apikey.Key, string, error)
	Revoke(ctx context.Context, id string) error
}

// apiKeysPage is the API keys page's data.
type apiKeysPage struct {
	Keys []apikey.Key
	// Created is the key just created and Secret its secret, shown on the
	// answer to the POST that created it and never again.
	Created *apikey.Key
	Secret  string
	// Name, Scope and Expires are the create form's fields, kept when it
	// is refused.
	Name, Scope, Expires string
	// Now is when the page was made: a key whose expiry is past it shows
	// as expired.
	Now time.Time
	// Confirm is the key whose revocation awaits the operator's second
	// click, nil when none.
	Confirm *apikey.Key
	// SignedIn is the id of the API key this console session uses.
	SignedIn string
}

// apiKeys lists every API key, revoked ones too, with the create form.
func (c *console) apiKeys(w http.ResponseWriter, r *http.Request) {
	c.showAPIKeys(w, r, http.StatusOK, apiKeysPage{Scope: string(apikey.ScopeIssue)})
}

// showAPIKeys answers with the API keys page, the list read now; a store
// that fails is shown in its words.
func (c *console) showAPIKeys(w http.ResponseWriter, r *http.Request, status int, page apiKeysPage) {
	if s, ok := signedInFrom(r.Context()); ok {
		page.SignedIn = s.key.ID
	}
	page.Now = c.now()
	ks, err := c.apiKeyAdmin.List(r.Context())
	if err != nil {
		c.renderError(w, r, "apikeys", err, page)
		return
	}
	page.Keys = ks
	c.render(w, r, "apikeys", status, page)
}

// createAPIKey creates a key and shows its secret once, on this answer:
// not a redirect, since a secret never goes in a flash or a URL. The
// secret is neither logged nor kept.
func (c *console) createAPIKey(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	scope := r.PostFormValue("scope")
	expires := strings.TrimSpace(r.PostFormValue("expires_at"))
	at, err := formExpiry(expires)
	var k apikey.Key
	var secret string
	if err == nil {
		k, secret, err = c.apiKeyAdmin.CreateExpiring(r.Context(), name, apikey.Scope(scope), at)
	}
	if err != nil {
		c.renderError(w, r, "apikeys", err, c.apiKeysAfterError(r, apiKeysPage{Name: name, Scope: scope, Expires: expires}))
		return
	}
	c.log.InfoContext(r.Context(), "API key created in the console", "id", k.ID, "scope", k.Scope, "by", actorID(r))
	c.showAPIKeys(w, r, http.StatusOK, apiKeysPage{Created: &k, Secret: secret, Scope: string(apikey.ScopeIssue)})
}

// formExpiryLayouts are what the create form's expiry may hold, read in
// UTC as every time the console shows: a browser's datetime-local input
// sends the first (or the second), and a person may paste RFC 3339.
var formExpiryLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", time.RFC3339}

// formExpiry is the create form's expires_at, or the zero time when it is
// left empty; the registry judges whether it is in the future.
func formExpiry(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range formExpiryLayouts {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &apikey.InvalidError{Field: apikey.ExpiresAtField,
		Reason: "must be a date and time in UTC, such as 2027-03-01T00:00, or left empty for a key that never expires"}
}

// revokeAPIKey revokes the key in the path once the operator confirmed:
// the list's Revoke button posts without confirm=yes and is answered with
// the page asking for the second click, which posts with it. Revoking the
// key this session is signed in with ends the session (ResumeConsole
// refuses it from then on), so that case lands on the sign-in form, which
// says why.
func (c *console) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	id := pathParam(r, "id")
	if r.PostFormValue("confirm") != "yes" {
		c.confirmRevoke(w, r, id)
		return
	}
	if err := c.apiKeyAdmin.Revoke(r.Context(), id); err != nil {
		c.renderError(w, r, "apikeys", err, c.apiKeysAfterError(r, apiKeysPage{Scope: string(apikey.ScopeIssue)}))
		return
	}
	c.log.InfoContext(r.Context(), "API key revoked in the console", "id", id, "by", actorID(r))
	if s, ok := signedInFrom(r.Context()); ok && s.key.ID == id {
		http.Redirect(w, r, Prefix+"/signin?from=revoked", http.StatusSeeOther)
		return
	}
	c.redirect(w, r, Prefix+"/apikeys", "API key "+id+" revoked.")
}

// confirmRevoke shows the list again with the confirmation of id's
// revocation; an unknown id is refused as the API refuses it.
func (c *console) confirmRevoke(w http.ResponseWriter, r *http.Request, id string) {
	page := apiKeysPage{Scope: string(apikey.ScopeIssue)}
	ks, err := c.apiKeyAdmin.List(r.Context())
	if err != nil {
		c.renderError(w, r, "apikeys", err, page)
		return
	}
	for i := range ks {
		if ks[i].ID == id {
			page.Confirm = &ks[i]
		}
	}
	if page.Confirm == nil {
		c.renderError(w, r, "apikeys", apikey.ErrNotFound, c.apiKeysAfterError(r, page))
		return
	}
	c.showAPIKeys(w, r, http.StatusOK, page)
}

// apiKeysAfterError fills page's list for showing it with an error; a
// list that fails too is left empty (the error shown is the first).
func (c *console) apiKeysAfterError(r *http.Request, page apiKeysPage) apiKeysPage {
	if s, ok := signedInFrom(r.Context()); ok {
		page.SignedIn = s.key.ID
	}
	page.Now = c.now()
	page.Keys, _ = c.apiKeyAdmin.List(r.Context())
	return page
}

// actorID is the id of the API key the request runs as, for the log.
func actorID(r *http.Request) string {
	if s, ok := signedInFrom(r.Context()); ok {
		return s.key.ID
	}
	return ""
}
