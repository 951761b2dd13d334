package config

import (
	"os"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
)

// setting is one row of the table: a variable, its default and its doc, and
// the parser that fills its field of the Config.
type setting struct {
	name, def string
	parse     parser
	doc       string
}

// settings is every variable tokensvc reads, in the README's order, each
// row filling its field of c. A new setting is a row here (and a field of
// Config, a line in the README's table and a case in
// TestEachSettingFillsItsOwnField); rules between settings go in
// crossSettingChecks.
func settings(c *Config) []setting {
	return []setting{
		{"TOKENSVC_ADDR", "127.0.0.1:8080", hostPort(&c.Addr),
			"Address the HTTP server listens on (host:port; `:8080` for every interface)."},
		{"TOKENSVC_ADMIN_ADDR", "", hostPort(&c.AdminAddr),
			"Address of the admin face (host:port): the admin API, `/metrics`, `/openapi.yaml` and the console are served only there. Unset: everything on TOKENSVC_ADDR."},
		{"TOKENSVC_CONSOLE", "true", boolean(&c.Console),
			"`false`: no operator console at `/console/` (on the admin face, or on TOKENSVC_ADDR without one)."},
		{"TOKENSVC_TLS_CERT_FILE", "", text(&c.TLSCertFile),
			"PEM certificate chain: with TOKENSVC_TLS_KEY_FILE, TOKENSVC_ADDR serves HTTPS (and HTTP/2), reloading the pair when the files change."},
		{"TOKENSVC_TLS_KEY_FILE", "", text(&c.TLSKeyFile),
			"PEM private key of TOKENSVC_TLS_CERT_FILE."},
		{"TOKENSVC_CORS_ORIGINS", "", list(&c.CORSOrigins, origin),
			"Comma-separated origins (`https://app.example.com`) whose pages may call refresh and logout, never with credentials. JWKS and PEM answer every origin."},
		{"TOKENSVC_SHUTDOWN_DELAY", "5s", durationIn(&c.ShutdownDelay, 0, time.Hour),
			"After SIGTERM, how long `/readyz` answers 503 while requests are still served, so load balancers stop sending first."},
		{"TOKENSVC_SHUTDOWN_TIMEOUT", "20s", durationIn(&c.ShutdownTimeout, time.Second, time.Hour),
			"Then, how long requests in flight get to finish once the listeners close."},
		{"TOKENSVC_STARTUP_TIMEOUT", "60s", durationIn(&c.StartupTimeout, time.Second, 24*time.Hour),
			"How long `serve` retries an unreachable database at start, with backoff, before it exits 1."},
		{"TOKENSVC_DATABASE_URL", "", postgresURL(&c.DatabaseURL),
			"PostgreSQL URL. Unset: an embedded store in TOKENSVC_DATA_DIR."},
		{"TOKENSVC_DATA_DIR", "./tokensvc-data", text(&c.DataDir),
			"Directory of the embedded store and its generated master key."},
		{masterKeyVar, "", masterKey(&c.MasterKey),
			"32-byte random key, base64 (`openssl rand -base64 32`), that encrypts private keys at rest; an all-zero or patterned key is refused. Required with PostgreSQL."},
		// Read in crossSettingChecks, and only when TOKENSVC_MASTER_KEY is
		// not set too: the two are one setting written two ways.
		{masterKeyFileVar, "", text(&c.MasterKeyFile),
			"File holding the master key (instead of TOKENSVC_MASTER_KEY)."},
		{masterKeyURLVar, "", kmsURL(&c.MasterKeyURL),
			"KMS key that wraps the master key (instead of TOKENSVC_MASTER_KEY): `awskms://`, `gcpkms://`, `azurekeyvault://`, `hashivault://`, or `base64key://` for tests. The master key is generated on first start, kept in the store wrapped, unwrapped once at start. See Master key: KMS and rotation."},
		{masterKeyPreviousVar, "", masterKey(&c.PreviousMasterKey),
			"During a master-key rotation: the old master key, base64, no longer used to seal but still accepted to open keys. See Master key: KMS and rotation."},
		{masterKeyURLPreviousVar, "", kmsURL(&c.PreviousMasterKeyURL),
			"During a master-key rotation: the old KMS key (its URL), whose wrapped master key is still accepted to open keys."},
		{"TOKENSVC_BOOTSTRAP_API_KEY", "", secret(&c.BootstrapAPIKey, "it is sent in an HTTP header"),
			"Admin API key registered when the store has none and never held this one (at least 32 characters, 8 of them different). Once revoked it stays revoked."},
		{"TOKENSVC_PROFILE", "moengage", oneOf(&c.Profile, "%q is not a profile (use moengage or braze)", profile.MoEngage, profile.Braze),
			"Claim layout: `moengage` (sub is an object) or `braze` (sub is a string)."},
		{"TOKENSVC_SUBJECT_KEY", "uid", claimName(&c.SubjectKey),
			"The `key` in MoEngage's sub object: the User ID key configured in MoEngage."},
		{"TOKENSVC_ALG", "RS256", oneOf(&c.Alg, "%q is not supported (use RS256 or RS512, which MoEngage accepts)", "RS256", "RS512"),
			"Signing algorithm of new keys: RS256 or RS512."},
		{"TOKENSVC_RSA_BITS", "2048", rsaBits(&c.RSABits),
			"RSA size of new keys: 2048, 3072 or 4096."},
		{"TOKENSVC_TOKEN_TTL", "1h", wholeSeconds(&c.TokenTTL),
			"Lifetime of a token when the request gives none."},
		{"TOKENSVC_MAX_TOKEN_TTL", "24h", wholeSeconds(&c.MaxTokenTTL),
			"Longest lifetime a request may ask for."},
		{"TOKENSVC_ISSUER", "", text(&c.Issuer),
			"Value of the iss claim; unset: no iss."},
		{"TOKENSVC_AUDIENCE", "", text(&c.Audience),
			"Value of the aud claim; unset: no aud."},
		{"TOKENSVC_LOG_LEVEL", "info", lowerCase(oneOf(&c.LogLevel, "%q is not a level (use debug, info, warn or error)", "debug", "info", "warn", "error")),
			"debug, info, warn or error."},
		{"TOKENSVC_LOG_FORMAT", "text", lowerCase(oneOf(&c.LogFormat, "%q is not a format (use text or json)", "text", "json")),
			"`text` (logfmt) or `json`, one object per line."},
		{"TOKENSVC_ROTATION_PERIOD", "2160h", wholeSeconds(&c.RotationPeriod),
			"How long a key signs before the next one takes over (90 days)."},
		{"TOKENSVC_ROTATION_LEAD", "168h", wholeSeconds(&c.RotationLead),
			"How long before the period ends the next key is created and published, to be registered."},
		{"TOKENSVC_SESSION_IDLE", "720h", wholeSeconds(&c.SessionIdle),
			"A login session unused this long ends (30 days)."},
		{"TOKENSVC_SESSION_MAX", "2160h", wholeSeconds(&c.SessionMax),
			"No login session lives longer than this (90 days)."},
		{"TOKENSVC_SESSION_REUSE_GRACE", "30s", wholeSeconds(&c.ReuseGrace),
			"How long a rotated refresh token still works, for a response lost on the network; replayed later, it ends the session."},
		{"TOKENSVC_SESSION_RETENTION", "168h", wholeSeconds(&c.SessionRetention),
			"How long an ended login session is kept, listed with why it ended, before it and its refresh tokens are deleted (7 days)."},
		{"TOKENSVC_AUDIT_RETENTION", "8760h", wholeSeconds(&c.AuditRetention),
			"How long audit-log entries (who changed what) and notification events are kept before they are deleted (a year)."},
		{"TOKENSVC_AUTO_ACTIVATE", "false", boolean(&c.AutoActivate),
			"`true`: the next key signs when the period ends (JWKS-fetching verifiers). `false`: an operator activates it after registering it in the dashboard."},
		{"TOKENSVC_WEBHOOK_URL", "", webhookURL(&c.WebhookURL),
			"An http:// or https:// URL that receives a POST for each event (a key to add to or remove from the dashboard, an API key created or revoked, a replayed refresh token), at least once; see Notifications. Unset: no notifications."},
		{"TOKENSVC_WEBHOOK_FORMAT", "json", lowerCase(oneOf(&c.WebhookFormat, "%q is not a format (use json or slack)", "json", "slack")),
			"`json`: the event as JSON. `slack`: `{\"text\": message}`, for a Slack incoming webhook."},
		{"TOKENSVC_WEBHOOK_SECRET", "", secret(&c.WebhookSecret, "the receiver configures it too, often in a shell command"),
			"Signs each webhook request (header Tokensvc-Signature, HMAC-SHA256) so the receiver can check it came from tokensvc (at least 32 characters, 8 of them different)."},
		{"TOKENSVC_RATE_LIMIT_PER_API_KEY", "off", rate(&c.PerAPIKeyRate),
			"Requests each API key may make, as `N/s`, `N/min` or `N/h` (bursts of up to N), or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_RATE_LIMIT_PER_USER", "60/min", rate(&c.PerUserRate),
			"Tokens and sessions that may be asked for each user, as `N/s`, `N/min` or `N/h`, or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_RATE_LIMIT_PER_CLIENT", "120/min", rate(&c.PerClientRate),
			"Refreshes and logouts, the requests made without an API key, that each client address may make, as `N/s`, `N/min` or `N/h`, or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_TRUSTED_PROXIES", "", list(&c.TrustedProxies, proxy),
			"Comma-separated IPs or CIDRs of the proxies whose X-Forwarded-For names the client address; from any other peer the header is ignored."},
		{"TOKENSVC_MAX_INFLIGHT_SIGNATURES", "64", atLeast(&c.MaxInFlight, 1),
			"Signatures under way at once; beyond it mint requests get 503 with Retry-After at once instead of queueing."},
		{"TOKENSVC_STORE_TIMEOUT", "5s", durationIn(&c.StoreTimeout, time.Millisecond, time.Minute),
			"Longest wait for one PostgreSQL call, connecting included; beyond it the request gets 503 with Retry-After."},
	}
}

// The three ways to give the master key, and the two to give the previous
// one during a rotation; MasterKey reads only these.
const (
	masterKeyVar            = "TOKENSVC_MASTER_KEY"
	masterKeyFileVar        = "TOKENSVC_MASTER_KEY_FILE"
	masterKeyURLVar         = "TOKENSVC_MASTER_KEY_URL"
	masterKeyPreviousVar    = "TOKENSVC_MASTER_KEY_PREVIOUS"
	masterKeyURLPreviousVar = "TOKENSVC_MASTER_KEY_URL_PREVIOUS"
)

// masterKeyVars are the master-key rows, for commands that read only them.
var masterKeyVars = []string{masterKeyVar, masterKeyFileVar, masterKeyURLVar, masterKeyPreviousVar, masterKeyURLPreviousVar}

// crossSettingChecks applies the rules that involve more than one setting,
// once every row has been read. written holds each variable's text as Load
// read it (a row keeps only a value it accepts, so whether a setting was
// given at all is asked of written); fail reports a problem under a name.
func crossSettingChecks(c *Config, written map[string]string, fail func(name, format string, args ...any)) {
	// Port 0 asks the system for a free port: two of those are two.
	if admin := written["TOKENSVC_ADMIN_ADDR"]; admin != "" && admin == written["TOKENSVC_ADDR"] && !strings.HasSuffix(admin, ":0") {
		fail("TOKENSVC_ADMIN_ADDR", "is TOKENSVC_ADDR; give the admin face its own address, or leave it unset to serve both on one")
	}
	if (written["TOKENSVC_TLS_CERT_FILE"] == "") != (written["TOKENSVC_TLS_KEY_FILE"] == "") {
		fail("TOKENSVC_TLS_CERT_FILE", "and TOKENSVC_TLS_KEY_FILE go together: set both for HTTPS, or neither")
	}
	oneMasterKey(c, written, fail)
	if written["TOKENSVC_DATABASE_URL"] != "" && written[masterKeyVar] == "" && written[masterKeyFileVar] == "" && written[masterKeyURLVar] == "" {
		fail(masterKeyVar, "is required with TOKENSVC_DATABASE_URL (or TOKENSVC_MASTER_KEY_FILE, or TOKENSVC_MASTER_KEY_URL): private keys in PostgreSQL are stored only encrypted (generate one with: openssl rand -base64 32)")
	}
	if written["TOKENSVC_WEBHOOK_SECRET"] != "" && written["TOKENSVC_WEBHOOK_URL"] == "" {
		fail("TOKENSVC_WEBHOOK_SECRET", "is set but TOKENSVC_WEBHOOK_URL is not, so no notification would be sent")
	}
	// A duration its row refused is zero here and was reported there.
	if c.TokenTTL > 0 && c.MaxTokenTTL > 0 && c.TokenTTL > c.MaxTokenTTL {
		fail("TOKENSVC_TOKEN_TTL", "%s is longer than TOKENSVC_MAX_TOKEN_TTL (%s)", c.TokenTTL, c.MaxTokenTTL)
	}
	if c.RotationPeriod > 0 && c.RotationLead >= c.RotationPeriod {
		fail("TOKENSVC_ROTATION_LEAD", "%s must be shorter than TOKENSVC_ROTATION_PERIOD (%s)", c.RotationLead, c.RotationPeriod)
	}
}

// oneMasterKey takes the master key from exactly one of
// TOKENSVC_MASTER_KEY, the file TOKENSVC_MASTER_KEY_FILE names, or
// TOKENSVC_MASTER_KEY_URL (unwrapped later, by the store that keeps the
// wrapped key). The file is read only here, so that a clash is one problem,
// not also a file that cannot be read. A previous master key is only
// accepted beside a current one: alone it would seal nothing.
func oneMasterKey(c *Config, written map[string]string, fail func(name, format string, args ...any)) {
	var given []string
	for _, name := range []string{masterKeyVar, masterKeyFileVar, masterKeyURLVar} {
		if written[name] != "" {
			given = append(given, name)
		}
	}
	if len(given) > 1 {
		fail(given[0], "set exactly one of TOKENSVC_MASTER_KEY, TOKENSVC_MASTER_KEY_FILE and TOKENSVC_MASTER_KEY_URL, not %s", strings.Join(given, " and "))
		return
	}
	for _, prev := range []string{masterKeyPreviousVar, masterKeyURLPreviousVar} {
		if written[prev] != "" && len(given) == 0 {
			fail(prev, "is set but no current master key is (TOKENSVC_MASTER_KEY, TOKENSVC_MASTER_KEY_FILE or TOKENSVC_MASTER_KEY_URL): the previous key is only accepted beside the one that seals")
		}
	}
	file := written[masterKeyFileVar]
	if file == "" {
		return
	}
	b, err := os.ReadFile(file)
	if err != nil {
		fail(masterKeyFileVar, "%v", err)
		return
	}
	k, err := keys.ParseMasterKey(string(b))
	if err != nil {
		fail(masterKeyFileVar, "%s: %v", file, err)
		return
	}
	c.MasterKey = k
}
