package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/config"
)

// TestEachSettingFillsItsOwnField sets one variable at a time to a value of
// its own, everything else unchanged, and checks that exactly the Config
// fields its case names change. A row that fills another setting's field
// (TOKENSVC_SESSION_IDLE filling SessionMax, and TOKENSVC_SESSION_MAX
// SessionIdle) fails here, and so does a setting without a case: a new row
// in the table needs one.
func TestEachSettingFillsItsOwnField(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(goodMaster+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		value string            // a valid value other than the default
		fills string            // the Config fields it sets, space-separated
		from  string            // the value compared with; "": the default
		with  map[string]string // other settings the value needs
	}{
		"TOKENSVC_ADDR":                    {value: ":9999", fills: "Addr"},
		"TOKENSVC_ADMIN_ADDR":              {value: "127.0.0.1:9091", fills: "AdminAddr"},
		"TOKENSVC_CONSOLE":                 {value: "false", fills: "Console"},
		"TOKENSVC_TLS_CERT_FILE":           {value: "/etc/tls/b.crt", from: "/etc/tls/a.crt", fills: "TLSCertFile", with: map[string]string{"TOKENSVC_TLS_KEY_FILE": "/etc/tls/a.key"}},
		"TOKENSVC_TLS_KEY_FILE":            {value: "/etc/tls/b.key", from: "/etc/tls/a.key", fills: "TLSKeyFile", with: map[string]string{"TOKENSVC_TLS_CERT_FILE": "/etc/tls/a.crt"}},
		"TOKENSVC_CORS_ORIGINS":            {value: "https://app.example.com", fills: "CORSOrigins"},
		"TOKENSVC_SHUTDOWN_DELAY":          {value: "1s", fills: "ShutdownDelay"},
		"TOKENSVC_SHUTDOWN_TIMEOUT":        {value: "30s", fills: "ShutdownTimeout"},
		"TOKENSVC_STARTUP_TIMEOUT":         {value: "2m", fills: "StartupTimeout"},
		"TOKENSVC_DATABASE_URL":            {value: "postgres://db/tokensvc", fills: "DatabaseURL", with: map[string]string{"TOKENSVC_MASTER_KEY": goodMaster}},
		"TOKENSVC_DATA_DIR":                {value: "/var/lib/tokensvc", fills: "DataDir"},
		"TOKENSVC_MASTER_KEY":              {value: goodMaster, fills: "MasterKey"},
		"TOKENSVC_MASTER_KEY_FILE":         {value: keyFile, fills: "MasterKey MasterKeyFile"},
		"TOKENSVC_MASTER_KEY_URL":          {value: "awskms://alias/tokensvc?region=eu-west-1", fills: "MasterKeyURL"},
		"TOKENSVC_MASTER_KEY_PREVIOUS":     {value: goodMaster, fills: "PreviousMasterKey", with: map[string]string{"TOKENSVC_MASTER_KEY_URL": "awskms://alias/tokensvc?region=eu-west-1"}},
		"TOKENSVC_MASTER_KEY_URL_PREVIOUS": {value: "awskms://alias/old?region=eu-west-1", fills: "PreviousMasterKeyURL", with: map[string]string{"TOKENSVC_MASTER_KEY": goodMaster}},
		"TOKENSVC_BOOTSTRAP_API_KEY":       {value: "tks_kX9fQ2mZ7pL4vR8wT1yB6nC3hJ5dG0sA", fills: "BootstrapAPIKey"},
		"TOKENSVC_PROFILE":                 {value: "braze", fills: "Profile"},
		"TOKENSVC_SUBJECT_KEY":             {value: "email", fills: "SubjectKey"},
		"TOKENSVC_ALG":                     {value: "RS512", fills: "Alg"},
		"TOKENSVC_RSA_BITS":                {value: "4096", fills: "RSABits"},
		"TOKENSVC_TOKEN_TTL":               {value: "2h", fills: "TokenTTL"},
		"TOKENSVC_MAX_TOKEN_TTL":           {value: "48h", fills: "MaxTokenTTL"},
		"TOKENSVC_ISSUER":                  {value: "https://auth.example", fills: "Issuer"},
		"TOKENSVC_AUDIENCE":                {value: "moengage", fills: "Audience"},
		"TOKENSVC_LOG_LEVEL":               {value: "debug", fills: "LogLevel"},
		"TOKENSVC_LOG_FORMAT":              {value: "json", fills: "LogFormat"},
		"TOKENSVC_ROTATION_PERIOD":         {value: "720h", fills: "RotationPeriod"},
		"TOKENSVC_ROTATION_LEAD":           {value: "48h", fills: "RotationLead"},
		"TOKENSVC_SESSION_IDLE":            {value: "1h", fills: "SessionIdle"},
		"TOKENSVC_SESSION_MAX":             {value: "2h", fills: "SessionMax"},
		"TOKENSVC_SESSION_REUSE_GRACE":     {value: "10s", fills: "ReuseGrace"},
		"TOKENSVC_SESSION_RETENTION":       {value: "24h", fills: "SessionRetention"},
		"TOKENSVC_AUDIT_RETENTION":         {value: "2160h", fills: "AuditRetention"},
		"TOKENSVC_AUTO_ACTIVATE":           {value: "true", fills: "AutoActivate"},
		"TOKENSVC_WEBHOOK_URL":             {value: "https://hooks.example.com/tokensvc", fills: "WebhookURL"},
		"TOKENSVC_WEBHOOK_FORMAT":          {value: "slack", fills: "WebhookFormat"},
		"TOKENSVC_WEBHOOK_SECRET":          {value: goodWebhookSecret, fills: "WebhookSecret", with: map[string]string{"TOKENSVC_WEBHOOK_URL": "https://hooks.example.com/tokensvc"}},
		"TOKENSVC_RATE_LIMIT_PER_API_KEY":  {value: "5/s", fills: "PerAPIKeyRate"},
		"TOKENSVC_RATE_LIMIT_PER_USER":     {value: "6/s", fills: "PerUserRate"},
		"TOKENSVC_RATE_LIMIT_PER_CLIENT":   {value: "7/s", fills: "PerClientRate"},
		"TOKENSVC_TRUSTED_PROXIES":         {value: "10.0.0.0/8", fills: "TrustedProxies"},
		"TOKENSVC_MAX_INFLIGHT_SIGNATURES": {value: "8", fills: "MaxInFlight"},
		"TOKENSVC_STORE_TIMEOUT":           {value: "2s", fills: "StoreTimeout"},
	}
	load := func(t *testing.T, env map[string]string) config.Config {
		t.Helper()
		c, err := config.Load(envOf(env))
		if err != nil {
			t.Fatalf("Load(%v): %v", env, err)
		}
		return c
	}
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
		tc, ok := cases[v.Name]
		if !ok {
			t.Errorf("%s has no case here: give it a value and the Config fields it fills", v.Name)
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			before, after := cloneEnv(tc.with), cloneEnv(tc.with)
			before[v.Name] = v.Default
			if tc.from != "" {
				before[v.Name] = tc.from
			}
			after[v.Name] = tc.value
			changed := changedFields(load(t, before), load(t, after))
			if want := strings.Fields(tc.fills); !slices.Equal(changed, want) {
				t.Errorf("%s=%s changed Config fields %v, want %v", v.Name, tc.value, changed, want)
			}
		})
	}
	for name := range cases {
		if !known[name] {
			t.Errorf("case %s names no setting in config.Vars", name)
		}
	}
}

// TestEverySettingHasADocAndAWorkingDefault: each row documents itself, and
// writing its default out gives the configuration that leaving it unset
// gives, so the default the README shows is the one in force.
func TestEverySettingHasADocAndAWorkingDefault(t *testing.T) {
	unset, err := config.Load(envOf(nil))
	if err != nil {
		t.Fatalf("the defaults do not load: %v", err)
	}
	for _, v := range config.Vars() {
		if strings.TrimSpace(v.Usage) == "" {
			t.Errorf("%s has no doc", v.Name)
		}
		if v.Default == "" {
			continue
		}
		c, err := config.Load(envOf(map[string]string{v.Name: v.Default}))
		if err != nil {
			t.Errorf("%s=%s, its default: %v", v.Name, v.Default, err)
			continue
		}
		if changed := changedFields(unset, c); len(changed) != 0 {
			t.Errorf("%s=%s, its default, changed %v from leaving it unset", v.Name, v.Default, changed)
		}
	}
}

// cloneEnv returns a copy of env that can be written to.
func cloneEnv(env map[string]string) map[string]string {
	c := make(map[string]string, len(env)+1)
	for k, v := range env {
		c[k] = v
	}
	return c
}

// changedFields names the fields of Config that differ between a and b, in
// the order Config declares them.
func changedFields(a, b config.Config) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var names []string
	for i := range va.NumField() {
		if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			names = append(names, va.Type().Field(i).Name)
		}
	}
	return names
}
