// Package config reads tokensvc's settings from TOKENSVC_* environment
// variables and checks them all at once, so an operator sees every problem
// in one start instead of fixing them one restart at a time.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/issuer"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// Config is tokensvc's validated configuration.
type Config struct {
	Addr             string
	DatabaseURL      string // empty: use the embedded store under DataDir
	DataDir          string
	MasterKey        []byte // nil: the embedded store generates and keeps one
	MasterKeyFile    string // where MasterKey was read from, if from a file
	BootstrapAPIKey  string
	Profile          issuer.Profile
	SubjectKey       string
	Alg              string
	RSABits          int
	TokenTTL         time.Duration
	MaxTokenTTL      time.Duration
	Issuer           string
	Audience         string
	LogLevel         string
	RotationPeriod   time.Duration
	RotationLead     time.Duration
	AutoActivate     bool
	WebhookURL       string // empty: no notifications
	WebhookFormat    string // "json" or "slack"
	WebhookSecret    string // empty: requests are not signed
	SessionIdle      time.Duration
	SessionMax       time.Duration
	ReuseGrace       time.Duration
	SessionRetention time.Duration
	AuditRetention   time.Duration
	PerAPIKeyRate    ratelimit.Rate
	PerUserRate      ratelimit.Rate
	PerClientRate    ratelimit.Rate
	TrustedProxies   []netip.Prefix
	MaxInFlight      int
	StoreTimeout     time.Duration
	AdminAddr        string // empty: the admin face is served on Addr too
	TLSCertFile      string // with TLSKeyFile: HTTPS on Addr
	TLSKeyFile       string
	ShutdownDelay    time.Duration
	ShutdownTimeout  time.Duration
	StartupTimeout   time.Duration
	CORSOrigins      []string // origins allowed to call refresh and logout from a browser
	LogFormat        string   // "text" or "json"
}

// Var documents one environment variable: the README's configuration table
// is checked against this list by a test, so the two cannot drift apart.
type Var struct {
	Name    string
	Default string
	Usage   string
}

// Vars lists every environment variable Load reads.
func Vars() []Var {
	return []Var{
		{"TOKENSVC_ADDR", "127.0.0.1:8080", "Address the HTTP server listens on (host:port; `:8080` for every interface)."},
		{"TOKENSVC_ADMIN_ADDR", "", "Address of the admin face (host:port): the admin API, `/metrics`, `/openapi.yaml` and the console are served only there. Unset: everything on TOKENSVC_ADDR."},
		{"TOKENSVC_TLS_CERT_FILE", "", "PEM certificate chain: with TOKENSVC_TLS_KEY_FILE, TOKENSVC_ADDR serves HTTPS (and HTTP/2), reloading the pair when the files change."},
		{"TOKENSVC_TLS_KEY_FILE", "", "PEM private key of TOKENSVC_TLS_CERT_FILE."},
		{"TOKENSVC_CORS_ORIGINS", "", "Comma-separated origins (`https://app.example.com`) whose pages may call refresh and logout, never with credentials. JWKS and PEM answer every origin."},
		{"TOKENSVC_SHUTDOWN_DELAY", "5s", "After SIGTERM, how long `/readyz` answers 503 while requests are still served, so load balancers stop sending first."},
		{"TOKENSVC_SHUTDOWN_TIMEOUT", "20s", "Then, how long requests in flight get to finish once the listeners close."},
		{"TOKENSVC_STARTUP_TIMEOUT", "60s", "How long `serve` retries an unreachable database at start, with backoff, before it exits 1."},
		{"TOKENSVC_DATABASE_URL", "", "PostgreSQL URL. Unset: an embedded store in TOKENSVC_DATA_DIR."},
		{"TOKENSVC_DATA_DIR", "./tokensvc-data", "Directory of the embedded store and its generated master key."},
		{"TOKENSVC_MASTER_KEY", "", "32-byte random key, base64 (`openssl rand -base64 32`), that encrypts private keys at rest; an all-zero or patterned key is refused. Required with PostgreSQL."},
		{"TOKENSVC_MASTER_KEY_FILE", "", "File holding the master key (instead of TOKENSVC_MASTER_KEY)."},
		{"TOKENSVC_BOOTSTRAP_API_KEY", "", "Admin API key registered when the store has none and never held this one (at least 32 characters, 8 of them different). Once revoked it stays revoked."},
		{"TOKENSVC_PROFILE", "moengage", "Claim layout: `moengage` (sub is an object) or `braze` (sub is a string)."},
		{"TOKENSVC_SUBJECT_KEY", "uid", "The `key` in MoEngage's sub object: the User ID key configured in MoEngage."},
		{"TOKENSVC_ALG", "RS256", "Signing algorithm of new keys: RS256 or RS512."},
		{"TOKENSVC_RSA_BITS", "2048", "RSA size of new keys: 2048, 3072 or 4096."},
		{"TOKENSVC_TOKEN_TTL", "1h", "Lifetime of a token when the request gives none."},
		{"TOKENSVC_MAX_TOKEN_TTL", "24h", "Longest lifetime a request may ask for."},
		{"TOKENSVC_ISSUER", "", "Value of the iss claim; unset: no iss."},
		{"TOKENSVC_AUDIENCE", "", "Value of the aud claim; unset: no aud."},
		{"TOKENSVC_LOG_LEVEL", "info", "debug, info, warn or error."},
		{"TOKENSVC_LOG_FORMAT", "text", "`text` (logfmt) or `json`, one object per line."},
		{"TOKENSVC_ROTATION_PERIOD", "2160h", "How long a key signs before the next one takes over (90 days)."},
		{"TOKENSVC_ROTATION_LEAD", "168h", "How long before the period ends the next key is created and published, to be registered."},
		{"TOKENSVC_SESSION_IDLE", "720h", "A login session unused this long ends (30 days)."},
		{"TOKENSVC_SESSION_MAX", "2160h", "No login session lives longer than this (90 days)."},
		{"TOKENSVC_SESSION_REUSE_GRACE", "30s", "How long a rotated refresh token still works, for a response lost on the network; replayed later, it ends the session."},
		{"TOKENSVC_SESSION_RETENTION", "168h", "How long an ended login session is kept, listed with why it ended, before it and its refresh tokens are deleted (7 days)."},
		{"TOKENSVC_AUDIT_RETENTION", "8760h", "How long audit-log entries (who changed what) and notification events are kept before they are deleted (a year)."},
		{"TOKENSVC_AUTO_ACTIVATE", "false", "`true`: the next key signs when the period ends (JWKS-fetching verifiers). `false`: an operator activates it after registering it in the dashboard."},
		{"TOKENSVC_WEBHOOK_URL", "", "An http:// or https:// URL that receives a POST for each event (a key to add to or remove from the dashboard, an API key created or revoked, a replayed refresh token), at least once; see Notifications. Unset: no notifications."},
		{"TOKENSVC_WEBHOOK_FORMAT", "json", "`json`: the event as JSON. `slack`: `{\"text\": message}`, for a Slack incoming webhook."},
		{"TOKENSVC_WEBHOOK_SECRET", "", "Signs each webhook request (header Tokensvc-Signature, HMAC-SHA256) so the receiver can check it came from tokensvc (at least 32 characters, 8 of them different)."},
		{"TOKENSVC_RATE_LIMIT_PER_API_KEY", "off", "Requests each API key may make, as `N/s`, `N/min` or `N/h` (bursts of up to N), or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_RATE_LIMIT_PER_USER", "60/min", "Tokens and sessions that may be asked for each user, as `N/s`, `N/min` or `N/h`, or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_RATE_LIMIT_PER_CLIENT", "120/min", "Refreshes and logouts, the requests made without an API key, that each client address may make, as `N/s`, `N/min` or `N/h`, or `off`. Beyond it: 429 with Retry-After."},
		{"TOKENSVC_TRUSTED_PROXIES", "", "Comma-separated IPs or CIDRs of the proxies whose X-Forwarded-For names the client address; from any other peer the header is ignored."},
		{"TOKENSVC_MAX_INFLIGHT_SIGNATURES", "64", "Signatures under way at once; beyond it mint requests get 503 with Retry-After at once instead of queueing."},
		{"TOKENSVC_STORE_TIMEOUT", "5s", "Longest wait for one PostgreSQL call, connecting included; beyond it the request gets 503 with Retry-After."},
	}
}

// Default returns the default value of the variable name, or "".
func Default(name string) string {
	for _, v := range Vars() {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

// Load reads the configuration through getenv and returns every problem
// found, one line each, joined.
func Load(getenv func(string) string) (Config, error) {
	env := func(name string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return Default(name)
	}
	var errs []error
	fail := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}

	c := Config{
		Addr:            env("TOKENSVC_ADDR"),
		DatabaseURL:     env("TOKENSVC_DATABASE_URL"),
		DataDir:         env("TOKENSVC_DATA_DIR"),
		BootstrapAPIKey: env("TOKENSVC_BOOTSTRAP_API_KEY"),
		Profile:         issuer.Profile(env("TOKENSVC_PROFILE")),
		SubjectKey:      env("TOKENSVC_SUBJECT_KEY"),
		Alg:             env("TOKENSVC_ALG"),
		Issuer:          env("TOKENSVC_ISSUER"),
		Audience:        env("TOKENSVC_AUDIENCE"),
		LogLevel:        strings.ToLower(env("TOKENSVC_LOG_LEVEL")),
		LogFormat:       strings.ToLower(env("TOKENSVC_LOG_FORMAT")),
		AdminAddr:       env("TOKENSVC_ADMIN_ADDR"),
		TLSCertFile:     env("TOKENSVC_TLS_CERT_FILE"),
		TLSKeyFile:      env("TOKENSVC_TLS_KEY_FILE"),
		WebhookURL:      env("TOKENSVC_WEBHOOK_URL"),
		WebhookFormat:   strings.ToLower(env("TOKENSVC_WEBHOOK_FORMAT")),
		WebhookSecret:   env("TOKENSVC_WEBHOOK_SECRET"),
	}

	hostPort("TOKENSVC_ADDR", c.Addr, fail)
	if c.AdminAddr != "" {
		hostPort("TOKENSVC_ADMIN_ADDR", c.AdminAddr, fail)
		// Port 0 asks the system for a free port: two of those are two.
		if _, port, _ := net.SplitHostPort(c.Addr); c.AdminAddr == c.Addr && port != "0" {
			fail("TOKENSVC_ADMIN_ADDR", "is TOKENSVC_ADDR; give the admin face its own address, or leave it unset to serve both on one")
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		fail("TOKENSVC_TLS_CERT_FILE", "and TOKENSVC_TLS_KEY_FILE go together: set both for HTTPS, or neither")
	}
	for _, o := range strings.Split(env("TOKENSVC_CORS_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
			fail("TOKENSVC_CORS_ORIGINS", "%q is not an origin (scheme://host[:port], for example https://app.example.com)", o)
			continue
		}
		c.CORSOrigins = append(c.CORSOrigins, strings.ToLower(o))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		fail("TOKENSVC_DATABASE_URL", "must be a postgres:// or postgresql:// URL")
	}

	c.MasterKey, c.MasterKeyFile = masterKey(env, fail)
	if c.DatabaseURL != "" && env("TOKENSVC_MASTER_KEY") == "" && env("TOKENSVC_MASTER_KEY_FILE") == "" {
		fail("TOKENSVC_MASTER_KEY", "is required with TOKENSVC_DATABASE_URL: private keys in PostgreSQL are stored only encrypted (generate one with: openssl rand -base64 32)")
	}

	if k := c.BootstrapAPIKey; k != "" {
		if p := weakSecret(k, "it is sent in an HTTP header"); p != "" {
			fail("TOKENSVC_BOOTSTRAP_API_KEY", "%s", p)
		}
	}
	webhook(&c, fail)

	switch c.Profile {
	case issuer.ProfileMoEngage, issuer.ProfileBraze:
	default:
		fail("TOKENSVC_PROFILE", "%q is not a profile (use moengage or braze)", c.Profile)
	}
	if c.SubjectKey == "" || strings.IndexFunc(c.SubjectKey, unicode.IsControl) >= 0 {
		fail("TOKENSVC_SUBJECT_KEY", "must be a non-empty name without control characters")
	}
	if c.Alg != "RS256" && c.Alg != "RS512" {
		fail("TOKENSVC_ALG", "%q is not supported (use RS256 or RS512, which MoEngage accepts)", c.Alg)
	}
	bits := env("TOKENSVC_RSA_BITS")
	switch bits {
	case "2048", "3072", "4096":
		c.RSABits, _ = strconv.Atoi(bits)
	default:
		fail("TOKENSVC_RSA_BITS", "%q is not supported (use 2048, 3072 or 4096)", bits)
	}
	c.TokenTTL = duration(env("TOKENSVC_TOKEN_TTL"), "TOKENSVC_TOKEN_TTL", fail)
	c.MaxTokenTTL = duration(env("TOKENSVC_MAX_TOKEN_TTL"), "TOKENSVC_MAX_TOKEN_TTL", fail)
	if c.TokenTTL > 0 && c.MaxTokenTTL > 0 && c.TokenTTL > c.MaxTokenTTL {
		fail("TOKENSVC_TOKEN_TTL", "%s is longer than TOKENSVC_MAX_TOKEN_TTL (%s)", c.TokenTTL, c.MaxTokenTTL)
	}
	c.RotationPeriod = duration(env("TOKENSVC_ROTATION_PERIOD"), "TOKENSVC_ROTATION_PERIOD", fail)
	c.RotationLead = duration(env("TOKENSVC_ROTATION_LEAD"), "TOKENSVC_ROTATION_LEAD", fail)
	if c.RotationPeriod > 0 && c.RotationLead >= c.RotationPeriod {
		fail("TOKENSVC_ROTATION_LEAD", "%s must be shorter than TOKENSVC_ROTATION_PERIOD (%s)", c.RotationLead, c.RotationPeriod)
	}
	c.SessionIdle = duration(env("TOKENSVC_SESSION_IDLE"), "TOKENSVC_SESSION_IDLE", fail)
	c.SessionMax = duration(env("TOKENSVC_SESSION_MAX"), "TOKENSVC_SESSION_MAX", fail)
	c.ReuseGrace = duration(env("TOKENSVC_SESSION_REUSE_GRACE"), "TOKENSVC_SESSION_REUSE_GRACE", fail)
	c.SessionRetention = duration(env("TOKENSVC_SESSION_RETENTION"), "TOKENSVC_SESSION_RETENTION", fail)
	c.AuditRetention = duration(env("TOKENSVC_AUDIT_RETENTION"), "TOKENSVC_AUDIT_RETENTION", fail)
	switch v := strings.ToLower(env("TOKENSVC_AUTO_ACTIVATE")); v {
	case "true", "1", "yes":
		c.AutoActivate = true
	case "false", "0", "no":
	default:
		fail("TOKENSVC_AUTO_ACTIVATE", "%q is not true or false", v)
	}
	var err error
	if c.PerAPIKeyRate, err = ratelimit.ParseRate(env("TOKENSVC_RATE_LIMIT_PER_API_KEY")); err != nil {
		fail("TOKENSVC_RATE_LIMIT_PER_API_KEY", "%v", err)
	}
	if c.PerUserRate, err = ratelimit.ParseRate(env("TOKENSVC_RATE_LIMIT_PER_USER")); err != nil {
		fail("TOKENSVC_RATE_LIMIT_PER_USER", "%v", err)
	}
	if c.PerClientRate, err = ratelimit.ParseRate(env("TOKENSVC_RATE_LIMIT_PER_CLIENT")); err != nil {
		fail("TOKENSVC_RATE_LIMIT_PER_CLIENT", "%v", err)
	}
	for _, s := range strings.Split(env("TOKENSVC_TRUSTED_PROXIES"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			c.TrustedProxies = append(c.TrustedProxies, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		} else {
			fail("TOKENSVC_TRUSTED_PROXIES", "%q is not an IP address or CIDR (for example 10.0.0.0/8 or 192.0.2.1)", s)
		}
	}
	inFlight := env("TOKENSVC_MAX_INFLIGHT_SIGNATURES")
	if c.MaxInFlight, err = strconv.Atoi(inFlight); err != nil || c.MaxInFlight < 1 {
		fail("TOKENSVC_MAX_INFLIGHT_SIGNATURES", "%q is not a whole number of at least 1", inFlight)
	}
	c.StoreTimeout = boundedDuration(env("TOKENSVC_STORE_TIMEOUT"), "TOKENSVC_STORE_TIMEOUT", time.Millisecond, time.Minute, fail)
	c.ShutdownDelay = boundedDuration(env("TOKENSVC_SHUTDOWN_DELAY"), "TOKENSVC_SHUTDOWN_DELAY", 0, time.Hour, fail)
	c.ShutdownTimeout = boundedDuration(env("TOKENSVC_SHUTDOWN_TIMEOUT"), "TOKENSVC_SHUTDOWN_TIMEOUT", time.Second, time.Hour, fail)
	c.StartupTimeout = boundedDuration(env("TOKENSVC_STARTUP_TIMEOUT"), "TOKENSVC_STARTUP_TIMEOUT", time.Second, 24*time.Hour, fail)
	switch c.LogFormat {
	case "text", "json":
	default:
		fail("TOKENSVC_LOG_FORMAT", "%q is not a format (use text or json)", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		fail("TOKENSVC_LOG_LEVEL", "%q is not a level (use debug, info, warn or error)", c.LogLevel)
	}
	return c, errors.Join(errs...)
}

// MasterKey reads the master key from TOKENSVC_MASTER_KEY or
// TOKENSVC_MASTER_KEY_FILE, as Load does, for commands that need only it;
// it returns nil when neither is set.
func MasterKey(getenv func(string) string) ([]byte, error) {
	var errs []error
	key, _ := masterKey(func(name string) string { return strings.TrimSpace(getenv(name)) }, func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	})
	return key, errors.Join(errs...)
}

// masterKey reads and checks the master key, and returns the file it came
// from, if any.
func masterKey(env func(string) string, fail func(string, string, ...any)) (key []byte, file string) {
	masterInline, masterFile := env("TOKENSVC_MASTER_KEY"), env("TOKENSVC_MASTER_KEY_FILE")
	switch {
	case masterInline != "" && masterFile != "":
		fail("TOKENSVC_MASTER_KEY", "set either TOKENSVC_MASTER_KEY or TOKENSVC_MASTER_KEY_FILE, not both")
	case masterInline != "":
		k, err := keys.ParseMasterKey(masterInline)
		if err != nil {
			fail("TOKENSVC_MASTER_KEY", "%v", err)
		}
		return k, ""
	case masterFile != "":
		b, err := os.ReadFile(masterFile)
		if err != nil {
			fail("TOKENSVC_MASTER_KEY_FILE", "%v", err)
			return nil, masterFile
		}
		k, err := keys.ParseMasterKey(string(b))
		if err != nil {
			fail("TOKENSVC_MASTER_KEY_FILE", "%s: %v", masterFile, err)
		}
		return k, masterFile
	}
	return nil, ""
}

// weakSecret says why the secret k would be guessable or awkward to pass
// around, or "" when it is fine; why says where it travels as text.
func weakSecret(k, why string) string {
	if len(k) < apikey.MinBootstrapLen {
		return fmt.Sprintf("is %d characters, want at least %d (generate one with: openssl rand -base64 32)", len(k), apikey.MinBootstrapLen)
	}
	if strings.IndexFunc(k, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' }) >= 0 {
		return "must be printable ASCII without spaces: " + why
	}
	if n := apikey.Variety(k); n < apikey.MinBootstrapVariety {
		return fmt.Sprintf("has too little variety: %d different characters, want at least %d (one character or a short word repeated is guessable; generate one with: openssl rand -base64 32)",
			n, apikey.MinBootstrapVariety)
	}
	return ""
}

// webhook checks the notification settings in c.
func webhook(c *Config, fail func(string, string, ...any)) {
	if c.WebhookURL != "" {
		// The value is not quoted back: a Slack webhook URL's path is its secret.
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			fail("TOKENSVC_WEBHOOK_URL", "must be an absolute http:// or https:// URL (for example https://hooks.example.com/tokensvc)")
		}
	}
	switch c.WebhookFormat {
	case "json", "slack":
	default:
		fail("TOKENSVC_WEBHOOK_FORMAT", "%q is not a format (use json or slack)", c.WebhookFormat)
	}
	if c.WebhookSecret != "" {
		if p := weakSecret(c.WebhookSecret, "the receiver configures it too, often in a shell command"); p != "" {
			fail("TOKENSVC_WEBHOOK_SECRET", "%s", p)
		}
		if c.WebhookURL == "" {
			fail("TOKENSVC_WEBHOOK_SECRET", "is set but TOKENSVC_WEBHOOK_URL is not, so no notification would be sent")
		}
	}
}

// hostPort checks that addr is host:port with a port from 0 to 65535.
func hostPort(name, addr string, fail func(string, string, ...any)) {
	if _, port, err := net.SplitHostPort(addr); err != nil {
		fail(name, "%q is not host:port (for example 127.0.0.1:8080 or :8080)", addr)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		fail(name, "port %q is not a number from 0 to 65535", port)
	}
}

// boundedDuration parses a Go duration from min to max, such as 5s or 500ms.
func boundedDuration(s, name string, min, max time.Duration, fail func(string, string, ...any)) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil || d < min || d > max {
		fail(name, "%q is not a duration from %s to %s (for example 5s or 1m)", s, min, max)
		return 0
	}
	return d
}

// duration parses a positive whole-second Go duration such as 1h or 90m.
func duration(s, name string, fail func(string, string, ...any)) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		fail(name, "%q is not a duration (for example 15m, 1h or 24h)", s)
	case d < time.Second || d%time.Second != 0:
		fail(name, "%s must be a whole number of seconds, at least 1s", s)
	default:
		return d
	}
	return 0
}
