// Package config reads tokensvc's settings from TOKENSVC_* environment
// variables and checks them all at once, so an operator sees every problem
// in one start instead of fixing them one restart at a time. Each setting is
// one row of the table in settings.go: its name, default, doc and the
// parser that fills its Config field; the parsers are in kinds.go.
package config

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// Config is tokensvc's validated configuration.
type Config struct {
	Addr          string
	DatabaseURL   string // empty: use the embedded store under DataDir
	DataDir       string
	MasterKey     []byte // nil: the embedded store generates and keeps one
	MasterKeyFile string // where MasterKey was read from, if from a file
	// MasterKeyURL is the KMS key that wraps the master key; the store
	// unwraps it at open, which fills MasterKey.
	MasterKeyURL string
	// PreviousMasterKey and PreviousMasterKeyURL name, during a master-key
	// rotation, the old master key: still accepted to open, never to seal.
	PreviousMasterKey    []byte
	PreviousMasterKeyURL string
	// PreviousMasterKeys are the previous master keys the store resolved
	// (the KMS one unwrapped), for the process's Sealer; Load leaves it nil.
	PreviousMasterKeys [][]byte
	BootstrapAPIKey    string
	Profile            profile.Profile
	SubjectKey         string
	Alg                string
	RSABits            int
	TokenTTL           time.Duration
	MaxTokenTTL        time.Duration
	Issuer             string
	Audience           string
	LogLevel           string
	RotationPeriod     time.Duration
	RotationLead       time.Duration
	AutoActivate       bool
	WebhookURL         string // empty: no notifications
	WebhookFormat      string // "json" or "slack"
	WebhookSecret      string // empty: requests are not signed
	SessionIdle        time.Duration
	SessionMax         time.Duration
	ReuseGrace         time.Duration
	SessionRetention   time.Duration
	AuditRetention     time.Duration
	PerAPIKeyRate      ratelimit.Rate
	PerUserRate        ratelimit.Rate
	PerClientRate      ratelimit.Rate
	TrustedProxies     []netip.Prefix
	MaxInFlight        int
	StoreTimeout       time.Duration
	AdminAddr          string // empty: the admin face is served on Addr too
	Console            bool   // serve the operator console at /console/
	TLSCertFile        string // with TLSKeyFile: HTTPS on Addr
	TLSKeyFile         string
	ShutdownDelay      time.Duration
	ShutdownTimeout    time.Duration
	StartupTimeout     time.Duration
	CORSOrigins        []string // origins allowed to call refresh and logout from a browser
	LogFormat          string   // "text" or "json"
}

// Var documents one environment variable: the README's configuration table
// is checked against this list by a test, so the two cannot drift apart.
type Var struct {
	Name    string
	Default string
	Usage   string
}

// Vars lists every environment variable Load reads, from the same table
// Load parses them by.
func Vars() []Var {
	rows := settings(new(Config))
	vars := make([]Var, len(rows))
	for i, r := range rows {
		vars[i] = Var{Name: r.name, Default: r.def, Usage: r.doc}
	}
	return vars
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
	var c Config
	var p problems
	written := p.read(settings(&c), getenv)
	crossSettingChecks(&c, written, p.add)
	return c, errors.Join(p...)
}

// MasterKeys reads the master-key settings (TOKENSVC_MASTER_KEY, _FILE,
// _URL and the previous ones) as Load does, for commands that need only
// them; the fields of a setting not given stay empty.
func MasterKeys(getenv func(string) string) (Config, error) {
	var c Config
	var p problems
	var rows []setting
	for _, r := range settings(&c) {
		if slices.Contains(masterKeyVars, r.name) {
			rows = append(rows, r)
		}
	}
	oneMasterKey(&c, p.read(rows, getenv), p.add)
	return c, errors.Join(p...)
}

// problems collects what is wrong with the configuration, one line each.
type problems []error

// add reports a problem with the variable name.
func (p *problems) add(name, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
}

// read parses each row's variable, trimmed, or its default when it is
// unset, and returns that text by name. A variable unset and without a
// default is not parsed: its field keeps the zero value, which means "not
// configured" (no admin address, no issuer, no webhook).
func (p *problems) read(rows []setting, getenv func(string) string) map[string]string {
	written := make(map[string]string, len(rows))
	for _, r := range rows {
		s := strings.TrimSpace(getenv(r.name))
		if s == "" {
			s = r.def
		}
		written[r.name] = s
		if s != "" {
			r.parse(s, func(format string, args ...any) { p.add(r.name, format, args...) })
		}
	}
	return written
}
