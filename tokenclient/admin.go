package tokenclient

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultURL is where the tokensvc command's client commands find the
// service when TOKENSVC_URL is not set: the address tokensvc serves on by
// default.
const DefaultURL = "http://127.0.0.1:8080"

// Admin calls tokensvc's admin API (signing keys, API keys, the audit log)
// with an API key of scope admin. The tokensvc command's client commands
// are built on it. Its errors are *Error when the service answered with a
// problem.
type Admin struct {
	URL    string // tokensvc's base URL, e.g. http://tokensvc:8080
	APIKey string
	HTTP   *http.Client // nil: a client with a 15 s timeout
}

// Key is a signing key as the admin API shows it.
type Key struct {
	KID         string `json:"kid"`
	Alg         string `json:"alg"`
	Bits        int    `json:"bits"`
	State       string `json:"state"` // pending, active, retired, expired or revoked
	Fingerprint string `json:"fingerprint_sha256"`
	// Dashboard says what to do with the key in the MoEngage dashboard:
	// add, keep or remove.
	Dashboard    string     `json:"dashboard"`
	PEMURL       string     `json:"pem_url"`
	CreatedAt    time.Time  `json:"created_at"`
	ActivatedAt  *time.Time `json:"activated_at,omitempty"`
	RetiredAt    *time.Time `json:"retired_at,omitempty"`
	PublishUntil *time.Time `json:"publish_until,omitempty"`
	ExpiredAt    *time.Time `json:"expired_at,omitempty"`
	RevokedAt    *time.Time `json:"revoked_at,omitempty"`
	// RegisteredAt and RegisteredBy say when and by whom the key was
	// confirmed to be in the dashboard; nil until then.
	RegisteredAt *time.Time `json:"registered_at"`
	RegisteredBy *string    `json:"registered_by"`
}

// Activation is the answer to ActivateKey: the key that now signs, and the
// one it replaced, if any.
type Activation struct {
	Activated Key  `json:"activated"`
	Retired   *Key `json:"retired,omitempty"`
}

// Revocation is the answer to RevokeKey: the revoked key, the key that
// signs in its place if it was the active one, and what to do next.
type Revocation struct {
	Revoked     Key    `json:"revoked"`
	Replacement *Key   `json:"replacement,omitempty"`
	Action      string `json:"action"`
}

// APIKey is an API key as the admin API shows it. Secret is set only in
// the answer to CreateAPIKey: the service keeps no copy.
type APIKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scope     string     `json:"scope"` // issue or admin
	Hint      string     `json:"hint"`  // the secret's first characters
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	// ExpiresAt is when the key stops working; nil if it never expires.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is when the key last authenticated a request, as far as
	// the service has written it down (each replica at most once a
	// minute); nil if never.
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	Secret     string     `json:"secret,omitempty"`
}

// NewAPIKey is what CreateAPIKeyWith makes: a name, a scope (issue or
// admin), and when the key stops working, which must be in the future
// (zero: never).
type NewAPIKey struct {
	Name      string
	Scope     string
	ExpiresAt time.Time
}

// AuditActor is who made an audited change: an API key, the scheduler, or
// an offline command.
type AuditActor struct {
	Kind string `json:"kind"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// AuditEntry is one change in the audit log.
type AuditEntry struct {
	ID        string     `json:"id"`
	At        time.Time  `json:"at"`
	Actor     AuditActor `json:"actor"`
	Action    string     `json:"action"`
	Target    string     `json:"target"`
	Outcome   string     `json:"outcome"`
	RequestID string     `json:"request_id,omitempty"`
	// Detail is what the action was given beyond its target, such as
	// "expires_at=2027-03-01T00:00:00Z" for an API key created to expire;
	// empty for most entries.
	Detail string `json:"detail,omitempty"`
}

// AuditPage is one page of the audit log, newest first. NextBefore, when
// set, is the Before of the next (older) page.
type AuditPage struct {
	Entries    []AuditEntry `json:"entries"`
	NextBefore *time.Time   `json:"next_before,omitempty"`
}

// AuditQuery selects a page of the audit log. Zero values take the
// service's defaults: its page size, and the newest entries.
type AuditQuery struct {
	Limit  int
	Before time.Time
}

// Keys lists every signing key.
func (a *Admin) Keys(ctx context.Context) ([]Key, error) {
	var out struct {
		Keys []Key `json:"keys"`
	}
	err := a.do(ctx, "GET", "/v1/keys", nil, &out)
	return out.Keys, err
}

// CreateKey creates the next signing key now, pending: published, not
// signing.
func (a *Admin) CreateKey(ctx context.Context) (Key, error) {
	var k Key
	err := a.do(ctx, "POST", "/v1/keys", nil, &k)
	return k, err
}

// ImportKey adds an existing RSA private key (PEM, PKCS #1 or PKCS #8) as
// the pending key, under the kid a generated key would get; registered
// records it as confirmed in the MoEngage dashboard already. The key
// crosses the network: use an https:// URL, or a loopback address. The
// service refuses a key it holds already and a pending key waiting (409),
// and anything that is not one RSA private key of 2048 to 4096 bits (422).
func (a *Admin) ImportKey(ctx context.Context, pem []byte, registered bool) (Key, error) {
	var k Key
	body := struct {
		PEM        string `json:"pem"`
		Registered bool   `json:"registered"`
	}{string(pem), registered}
	err := a.do(ctx, "POST", "/v1/keys/import", body, &k)
	return k, err
}

// ConfirmKey records that kid's PEM is saved in the MoEngage dashboard.
func (a *Admin) ConfirmKey(ctx context.Context, kid string) (Key, error) {
	var k Key
	err := a.do(ctx, "POST", keyPath(kid, "/confirm"), nil, &k)
	return k, err
}

// ActivateKey makes the pending key kid sign. The service refuses a key
// nobody confirmed (409) unless force is set.
func (a *Admin) ActivateKey(ctx context.Context, kid string, force bool) (Activation, error) {
	// Sent only when forcing: an activation without a body is the plain one.
	var body any
	if force {
		body = map[string]bool{"force": true}
	}
	var out Activation
	err := a.do(ctx, "POST", keyPath(kid, "/activate"), body, &out)
	return out, err
}

// RevokeKey stops publishing kid at once, as after a leak.
func (a *Admin) RevokeKey(ctx context.Context, kid string) (Revocation, error) {
	var out Revocation
	err := a.do(ctx, "POST", keyPath(kid, "/revoke"), nil, &out)
	return out, err
}

// KeyPEM returns kid's public key in PEM, as the dashboard takes it.
func (a *Admin) KeyPEM(ctx context.Context, kid string) ([]byte, error) {
	var pem []byte
	err := a.do(ctx, "GET", keyPath(kid, "/public.pem"), nil, &pem)
	return pem, err
}

// CreateAPIKey makes an API key of scope issue or admin. The answer holds
// its secret, the only copy there is.
func (a *Admin) CreateAPIKey(ctx context.Context, name, scope string) (APIKey, error) {
	return a.CreateAPIKeyWith(ctx, NewAPIKey{Name: name, Scope: scope})
}

// CreateAPIKeyWith is CreateAPIKey for a key that may expire.
func (a *Admin) CreateAPIKeyWith(ctx context.Context, k NewAPIKey) (APIKey, error) {
	body := struct {
		Name      string     `json:"name"`
		Scope     string     `json:"scope"`
		ExpiresAt *time.Time `json:"expires_at,omitempty"`
	}{Name: k.Name, Scope: k.Scope}
	if !k.ExpiresAt.IsZero() {
		body.ExpiresAt = &k.ExpiresAt
	}
	var out APIKey
	err := a.do(ctx, "POST", "/v1/apikeys", body, &out)
	return out, err
}

// APIKeys lists every API key, without secrets.
func (a *Admin) APIKeys(ctx context.Context) ([]APIKey, error) {
	var out struct {
		APIKeys []APIKey `json:"api_keys"`
	}
	err := a.do(ctx, "GET", "/v1/apikeys", nil, &out)
	return out.APIKeys, err
}

// RevokeAPIKey stops the API key id from working. The service refuses to
// revoke the last admin key (409).
func (a *Admin) RevokeAPIKey(ctx context.Context, id string) error {
	return a.do(ctx, "DELETE", "/v1/apikeys/"+url.PathEscape(id), nil, nil)
}

// Audit returns a page of the audit log, newest first.
func (a *Admin) Audit(ctx context.Context, q AuditQuery) (AuditPage, error) {
	v := url.Values{}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if !q.Before.IsZero() {
		v.Set("before", q.Before.Format(time.RFC3339Nano))
	}
	path := "/v1/audit"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var page AuditPage
	err := a.do(ctx, "GET", path, nil, &page)
	return page, err
}

// Backup copies the service's embedded store to w, as one read transaction
// saw it while the service served: the file `tokensvc restore` takes.
// Private keys are in it sealed; the master key is not. A service on
// PostgreSQL refuses (409, backup-unsupported): back it up with pg_dump.
// An answer cut short is an error; w may then hold part of a copy.
func (a *Admin) Backup(ctx context.Context, w io.Writer) error {
	return a.do(ctx, "GET", "/v1/backup", nil, w)
}

func keyPath(kid, action string) string { return "/v1/keys/" + url.PathEscape(kid) + action }

// do sends one admin request, as Backend's are sent.
func (a *Admin) do(ctx context.Context, method, path string, body, out any) error {
	if err := checkBaseURL("Admin.URL", a.URL); err != nil {
		return err
	}
	return retrying(ctx, httpClient(a.HTTP), method, strings.TrimRight(a.URL, "/")+path, a.APIKey, body, out)
}
