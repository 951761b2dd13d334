package config_test

import (
	"encoding/base64"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

const goodMaster = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestDefaults(t *testing.T) {
	c, err := config.Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Config{
		Addr: "127.0.0.1:8080", DataDir: "./tokensvc-data", Profile: profile.MoEngage, SubjectKey: "uid",
		Alg: "RS256", RSABits: 2048, TokenTTL: time.Hour, MaxTokenTTL: 24 * time.Hour, LogLevel: "info",
	}
	if c.Addr != want.Addr || c.DataDir != want.DataDir || c.Profile != want.Profile || c.SubjectKey != want.SubjectKey ||
		c.Alg != want.Alg || c.RSABits != want.RSABits || c.TokenTTL != want.TokenTTL || c.MaxTokenTTL != want.MaxTokenTTL ||
		c.LogLevel != want.LogLevel || c.DatabaseURL != "" || c.MasterKey != nil ||
		c.RotationPeriod != 90*24*time.Hour || c.RotationLead != 7*24*time.Hour || c.AutoActivate ||
		!c.PerAPIKeyRate.Off() || c.PerUserRate != (ratelimit.Rate{N: 60, Per: time.Minute}) || c.MaxInFlight != 64 ||
		c.StoreTimeout != 5*time.Second || c.AuditRetention != 8760*time.Hour || c.PerClientRate != (ratelimit.Rate{N: 120, Per: time.Minute}) || c.TrustedProxies != nil {
		t.Errorf("defaults = %+v\nwant %+v", c, want)
	}
}

func TestEverySetting(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte(goodMaster+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(envOf(map[string]string{
		"TOKENSVC_ADDR":                    ":9090",
		"TOKENSVC_DATABASE_URL":            "postgres://u@db/tokensvc",
		"TOKENSVC_MASTER_KEY_FILE":         keyFile,
		"TOKENSVC_BOOTSTRAP_API_KEY":       "tks_kX9fQ2mZ7pL4vR8wT1yB6nC3hJ5dG0sA",
		"TOKENSVC_PROFILE":                 "braze",
		"TOKENSVC_SUBJECT_KEY":             "email",
		"TOKENSVC_ALG":                     "RS512",
		"TOKENSVC_RSA_BITS":                "3072",
		"TOKENSVC_TOKEN_TTL":               "10m",
		"TOKENSVC_MAX_TOKEN_TTL":           "2h",
		"TOKENSVC_ISSUER":                  "https://auth.example",
		"TOKENSVC_AUDIENCE":                "moengage",
		"TOKENSVC_LOG_LEVEL":               "DEBUG",
		"TOKENSVC_ROTATION_PERIOD":         "720h",
		"TOKENSVC_ROTATION_LEAD":           "48h",
		"TOKENSVC_AUTO_ACTIVATE":           "true",
		"TOKENSVC_RATE_LIMIT_PER_API_KEY":  "500/s",
		"TOKENSVC_RATE_LIMIT_PER_USER":     "off",
		"TOKENSVC_MAX_INFLIGHT_SIGNATURES": "8",
		"TOKENSVC_STORE_TIMEOUT":           "300ms",
		"TOKENSVC_AUDIT_RETENTION":         "2160h",
		"TOKENSVC_RATE_LIMIT_PER_CLIENT":   "10/s",
		"TOKENSVC_TRUSTED_PROXIES":         " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::ffff:198.51.100.1",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9090" || len(c.MasterKey) != 32 || c.Profile != profile.Braze || c.SubjectKey != "email" ||
		c.Alg != "RS512" || c.RSABits != 3072 || c.TokenTTL != 10*time.Minute || c.MaxTokenTTL != 2*time.Hour ||
		c.Issuer != "https://auth.example" || c.Audience != "moengage" || c.LogLevel != "debug" ||
		c.RotationPeriod != 720*time.Hour || c.RotationLead != 48*time.Hour || !c.AutoActivate ||
		c.PerAPIKeyRate != (ratelimit.Rate{N: 500, Per: time.Second}) || !c.PerUserRate.Off() || c.MaxInFlight != 8 ||
		c.StoreTimeout != 300*time.Millisecond || c.AuditRetention != 2160*time.Hour || c.PerClientRate != (ratelimit.Rate{N: 10, Per: time.Second}) ||
		!slices.Equal(c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
			netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("198.51.100.1/32")}) {
		t.Errorf("config = %+v", c)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want []string // each must appear in the error, one line each
	}{
		{"postgres without master key", map[string]string{"TOKENSVC_DATABASE_URL": "postgres://db/x"},
			[]string{"TOKENSVC_MASTER_KEY: is required with TOKENSVC_DATABASE_URL"}},
		{"short master key", map[string]string{"TOKENSVC_MASTER_KEY": "c2hvcnQ="},
			[]string{"TOKENSVC_MASTER_KEY: master key is 5 bytes, want 32"}},
		{"both master keys", map[string]string{"TOKENSVC_MASTER_KEY": goodMaster, "TOKENSVC_MASTER_KEY_FILE": "/x"},
			[]string{"TOKENSVC_MASTER_KEY: set exactly one of TOKENSVC_MASTER_KEY, TOKENSVC_MASTER_KEY_FILE and TOKENSVC_MASTER_KEY_URL, not TOKENSVC_MASTER_KEY and TOKENSVC_MASTER_KEY_FILE"}},
		{"master key and KMS key", map[string]string{"TOKENSVC_MASTER_KEY": goodMaster, "TOKENSVC_MASTER_KEY_URL": "gcpkms://projects/p/locations/global/keyRings/r/cryptoKeys/k"},
			[]string{"set exactly one of TOKENSVC_MASTER_KEY, TOKENSVC_MASTER_KEY_FILE and TOKENSVC_MASTER_KEY_URL, not TOKENSVC_MASTER_KEY and TOKENSVC_MASTER_KEY_URL"}},
		{"all three master keys", map[string]string{"TOKENSVC_MASTER_KEY": goodMaster, "TOKENSVC_MASTER_KEY_FILE": "/x", "TOKENSVC_MASTER_KEY_URL": "base64key://"},
			[]string{"not TOKENSVC_MASTER_KEY and TOKENSVC_MASTER_KEY_FILE and TOKENSVC_MASTER_KEY_URL"}},
		{"KMS key URL without scheme", map[string]string{"TOKENSVC_MASTER_KEY_URL": "alias/tokensvc"},
			[]string{"TOKENSVC_MASTER_KEY_URL: is not a KMS key URL"}},
		{"previous master key alone", map[string]string{"TOKENSVC_MASTER_KEY_PREVIOUS": goodMaster},
			[]string{"TOKENSVC_MASTER_KEY_PREVIOUS: is set but no current master key is"}},
		{"missing key file", map[string]string{"TOKENSVC_MASTER_KEY_FILE": "/nonexistent/master.key"},
			[]string{"TOKENSVC_MASTER_KEY_FILE:"}},
		{"many at once", map[string]string{
			"TOKENSVC_ADDR": "8080", "TOKENSVC_PROFILE": "okta", "TOKENSVC_ALG": "HS256", "TOKENSVC_RSA_BITS": "1024",
			"TOKENSVC_TOKEN_TTL": "soon", "TOKENSVC_LOG_LEVEL": "loud", "TOKENSVC_DATABASE_URL": "mysql://x",
			"TOKENSVC_BOOTSTRAP_API_KEY": "short",
		}, []string{
			"TOKENSVC_ADDR:", "TOKENSVC_PROFILE:", "TOKENSVC_ALG:", "TOKENSVC_RSA_BITS:", "TOKENSVC_TOKEN_TTL:",
			"TOKENSVC_LOG_LEVEL:", "TOKENSVC_DATABASE_URL:", "TOKENSVC_BOOTSTRAP_API_KEY:", "TOKENSVC_MASTER_KEY:",
		}},
		{"lead not shorter than period", map[string]string{"TOKENSVC_ROTATION_PERIOD": "24h", "TOKENSVC_ROTATION_LEAD": "24h"}, []string{"TOKENSVC_ROTATION_LEAD:"}},
		{"bad limits", map[string]string{"TOKENSVC_RATE_LIMIT_PER_API_KEY": "fast", "TOKENSVC_RATE_LIMIT_PER_USER": "10/day",
			"TOKENSVC_MAX_INFLIGHT_SIGNATURES": "0"}, []string{
			`TOKENSVC_RATE_LIMIT_PER_API_KEY: "fast" is not a rate`, "TOKENSVC_RATE_LIMIT_PER_USER:", "TOKENSVC_MAX_INFLIGHT_SIGNATURES:",
		}},
		{"bad per-client limit", map[string]string{"TOKENSVC_RATE_LIMIT_PER_CLIENT": "lots"}, []string{"TOKENSVC_RATE_LIMIT_PER_CLIENT:"}},
		{"bad trusted proxies", map[string]string{"TOKENSVC_TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal, 10.0.0.1/33"},
			[]string{`TOKENSVC_TRUSTED_PROXIES: "proxy.internal"`, `TOKENSVC_TRUSTED_PROXIES: "10.0.0.1/33"`}},
		{"store timeout not a duration", map[string]string{"TOKENSVC_STORE_TIMEOUT": "5"}, []string{"TOKENSVC_STORE_TIMEOUT:"}},
		{"store timeout zero", map[string]string{"TOKENSVC_STORE_TIMEOUT": "0s"}, []string{"TOKENSVC_STORE_TIMEOUT:"}},
		{"audit retention not a duration", map[string]string{"TOKENSVC_AUDIT_RETENTION": "1y"}, []string{"TOKENSVC_AUDIT_RETENTION:"}},
		{"auto activate not a bool", map[string]string{"TOKENSVC_AUTO_ACTIVATE": "sometimes"}, []string{"TOKENSVC_AUTO_ACTIVATE:"}},
		{"ttl over max", map[string]string{"TOKENSVC_TOKEN_TTL": "48h"}, []string{"longer than TOKENSVC_MAX_TOKEN_TTL"}},
		{"fractional ttl", map[string]string{"TOKENSVC_TOKEN_TTL": "1.5s"}, []string{"whole number of seconds"}},
		{"bootstrap with space", map[string]string{"TOKENSVC_BOOTSTRAP_API_KEY": strings.Repeat("k ", 20)}, []string{"printable ASCII"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(envOf(tc.env))
			if err == nil {
				t.Fatal("Load accepted a bad configuration")
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestWeakSecretsRefused: secrets of the right length but with too little
// variety to be secret are configuration errors, not silently accepted.
func TestWeakSecretsRefused(t *testing.T) {
	zeroKeyFile := filepath.Join(t.TempDir(), "master.key")
	zero := base64.StdEncoding.EncodeToString(make([]byte, 32))
	if err := os.WriteFile(zeroKeyFile, []byte(zero+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"all-zero master key", map[string]string{"TOKENSVC_MASTER_KEY": zero}, "TOKENSVC_MASTER_KEY: master key has too little variety"},
		{"repeated-byte master key", map[string]string{"TOKENSVC_MASTER_KEY": base64.StdEncoding.EncodeToString([]byte(strings.Repeat("x", 32)))},
			"TOKENSVC_MASTER_KEY: master key has too little variety"},
		{"all-zero master key file", map[string]string{"TOKENSVC_MASTER_KEY_FILE": zeroKeyFile}, "TOKENSVC_MASTER_KEY_FILE: " + zeroKeyFile + ": master key has too little variety"},
		{"bootstrap key of one character", map[string]string{"TOKENSVC_BOOTSTRAP_API_KEY": strings.Repeat("k", 32)}, "TOKENSVC_BOOTSTRAP_API_KEY: has too little variety"},
		{"bootstrap key of a short pattern", map[string]string{"TOKENSVC_BOOTSTRAP_API_KEY": strings.Repeat("abc123", 6)}, "TOKENSVC_BOOTSTRAP_API_KEY: has too little variety"},
		{"webhook secret of a short pattern", map[string]string{"TOKENSVC_WEBHOOK_URL": "https://h.example", "TOKENSVC_WEBHOOK_SECRET": strings.Repeat("abc123", 6)}, "TOKENSVC_WEBHOOK_SECRET: has too little variety"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Errorf("err = %v\nwant %q and how to generate a good one", err, tc.want)
			}
		})
	}
}

// TestServingSettings covers how the service faces the network: the admin
// address, TLS, CORS, drain, start-up and log format.
func TestServingSettings(t *testing.T) {
	c, err := config.Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAddr != "" || c.TLSCertFile != "" || c.TLSKeyFile != "" || c.CORSOrigins != nil || c.LogFormat != "text" ||
		c.ShutdownDelay != 5*time.Second || c.ShutdownTimeout != 20*time.Second || c.StartupTimeout != time.Minute {
		t.Errorf("defaults = %+v", c)
	}

	c, err = config.Load(envOf(map[string]string{
		"TOKENSVC_ADDR":             ":8443",
		"TOKENSVC_ADMIN_ADDR":       "127.0.0.1:9090",
		"TOKENSVC_TLS_CERT_FILE":    "/etc/tokensvc/tls.crt",
		"TOKENSVC_TLS_KEY_FILE":     "/etc/tokensvc/tls.key",
		"TOKENSVC_CORS_ORIGINS":     " https://App.example.com, http://localhost:3000 ",
		"TOKENSVC_SHUTDOWN_DELAY":   "0s",
		"TOKENSVC_SHUTDOWN_TIMEOUT": "45s",
		"TOKENSVC_STARTUP_TIMEOUT":  "5m",
		"TOKENSVC_LOG_FORMAT":       "JSON",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminAddr != "127.0.0.1:9090" || c.TLSCertFile != "/etc/tokensvc/tls.crt" || c.TLSKeyFile != "/etc/tokensvc/tls.key" ||
		!slices.Equal(c.CORSOrigins, []string{"https://app.example.com", "http://localhost:3000"}) ||
		c.ShutdownDelay != 0 || c.ShutdownTimeout != 45*time.Second || c.StartupTimeout != 5*time.Minute || c.LogFormat != "json" {
		t.Errorf("config = %+v", c)
	}

	// Port 0 asks the system for a free port: two such addresses are two
	// listeners, as tests start them.
	if c, err := config.Load(envOf(map[string]string{"TOKENSVC_ADDR": "127.0.0.1:0", "TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"})); err != nil || c.AdminAddr != "127.0.0.1:0" {
		t.Errorf("two addresses of port 0: %v", err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"admin address not host:port", map[string]string{"TOKENSVC_ADMIN_ADDR": "9090"}, []string{"TOKENSVC_ADMIN_ADDR:"}},
		{"admin address is the public one", map[string]string{"TOKENSVC_ADMIN_ADDR": "127.0.0.1:8080"}, []string{"TOKENSVC_ADMIN_ADDR: is TOKENSVC_ADDR"}},
		{"certificate without key", map[string]string{"TOKENSVC_TLS_CERT_FILE": "tls.crt"}, []string{"TOKENSVC_TLS_CERT_FILE: and TOKENSVC_TLS_KEY_FILE go together"}},
		{"key without certificate", map[string]string{"TOKENSVC_TLS_KEY_FILE": "tls.key"}, []string{"TOKENSVC_TLS_CERT_FILE: and TOKENSVC_TLS_KEY_FILE go together"}},
		{"origins that are not origins", map[string]string{"TOKENSVC_CORS_ORIGINS": "*, https://app.example.com/login, app.example.com"},
			[]string{`TOKENSVC_CORS_ORIGINS: "*"`, `TOKENSVC_CORS_ORIGINS: "https://app.example.com/login"`, `TOKENSVC_CORS_ORIGINS: "app.example.com"`}},
		{"negative delay", map[string]string{"TOKENSVC_SHUTDOWN_DELAY": "-1s"}, []string{"TOKENSVC_SHUTDOWN_DELAY:"}},
		{"no time to finish", map[string]string{"TOKENSVC_SHUTDOWN_TIMEOUT": "0s"}, []string{"TOKENSVC_SHUTDOWN_TIMEOUT:"}},
		{"start-up timeout not a duration", map[string]string{"TOKENSVC_STARTUP_TIMEOUT": "60"}, []string{"TOKENSVC_STARTUP_TIMEOUT:"}},
		{"log format", map[string]string{"TOKENSVC_LOG_FORMAT": "xml"}, []string{"TOKENSVC_LOG_FORMAT:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(envOf(tc.env))
			if err == nil {
				t.Fatal("Load accepted a bad configuration")
			}
			if lines := strings.Split(err.Error(), "\n"); len(lines) != len(tc.want) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestKMSMasterKeyServesPostgres: a KMS key URL is a master key for
// PostgreSQL too; the previous ones ride beside any of the three.
func TestKMSMasterKeyServesPostgres(t *testing.T) {
	env := map[string]string{
		"TOKENSVC_DATABASE_URL":            "postgres://db/x",
		"TOKENSVC_MASTER_KEY_URL":          "hashivault://tokensvc",
		"TOKENSVC_MASTER_KEY_URL_PREVIOUS": "awskms://alias/old?region=eu-west-1",
	}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil || c.MasterKeyURL != env["TOKENSVC_MASTER_KEY_URL"] || c.PreviousMasterKeyURL != env["TOKENSVC_MASTER_KEY_URL_PREVIOUS"] || c.MasterKey != nil {
		t.Fatalf("Load = %+v, %v", c, err)
	}
}
