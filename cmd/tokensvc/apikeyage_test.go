package main

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseExpiresIn(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90d", 90 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"36h", 36 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"0d", 0, false},
		{"-1d", 0, false},
		{"-5h", 0, false},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"90", 0, false},
		{"forever", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseExpiresIn(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseExpiresIn(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestAPIKeyExpiryCommands: apikey create --expires-in and --expires-at
// make keys that list their expiry, and a use shows in the list; flags
// that cannot work are usage errors, and a past time is the service's 400.
func TestAPIKeyExpiryCommands(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()

	out, err := cli(t, svc, admin, "apikey", "create", "--name", "sandbox", "--scope", "issue", "--expires-in", "90d")
	m := regexp.MustCompile(`created (ak_\S+) \(sandbox, scope issue, expires (\S+)\)\..*\n\n\s+(tks_\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("apikey create --expires-in 90d: %v\n%s", err, out)
	}
	expires, err := time.Parse(time.RFC3339, m[2])
	if err != nil || time.Until(expires) < 89*24*time.Hour || time.Until(expires) > 90*24*time.Hour {
		t.Errorf("expires %s, want about 90 days from now", m[2])
	}
	id, secret := m[1], m[3]
	at := "2099-01-02T03:04:05Z"
	if out, err := cli(t, svc, admin, "apikey", "create", "--name", "until", "--expires-at", at); err != nil || !strings.Contains(out, "expires "+at) {
		t.Fatalf("apikey create --expires-at: %v\n%s", err, out)
	}
	if _, err := cli(t, svc, secret, "token", "--user", "user-42"); err != nil {
		t.Fatalf("token with the expiring key: %v", err)
	}

	out, err = cli(t, svc, admin, "apikey", "list")
	if err != nil || !strings.Contains(out, "EXPIRES") || !strings.Contains(out, "LAST USED") {
		t.Fatalf("apikey list: %v\n%s", err, out)
	}
	row := regexp.MustCompile(regexp.QuoteMeta(id) + `\s+sandbox\s+issue\s+\S+\s+\S+\s+` + regexp.QuoteMeta(m[2]) + `\s+(\S+)`).FindStringSubmatch(out)
	if row == nil || row[1] == "never" {
		t.Errorf("the list does not show %s's expiry %s and a last use:\n%s", id, m[2], out)
	}
	if !regexp.MustCompile(`until\s+issue\s+\S+\s+\S+\s+` + regexp.QuoteMeta(at) + `\s+never`).MatchString(out) {
		t.Errorf("the list does not show the unused key's expiry and no use:\n%s", out)
	}

	for _, args := range [][]string{
		{"apikey", "create", "--name", "x", "--expires-in", "90d", "--expires-at", at},
		{"apikey", "create", "--name", "x", "--expires-in", "soon"},
		{"apikey", "create", "--name", "x", "--expires-at", "2099-01-01"},
		{"apikey", "list", "--expires-in", "1d"},
		{"apikey", "create", "--name", "x", "--scope", "admin", "--offline", "--expires-in", "1d"},
	} {
		if _, err := cli(t, svc, admin, args...); err == nil {
			t.Errorf("%v: accepted", args)
		} else if _, ok := err.(usageError); !ok {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
	_, err = cli(t, svc, admin, "apikey", "create", "--name", "x", "--expires-at", "2020-01-01T00:00:00Z")
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "future") {
		t.Errorf("a past --expires-at: err = %v, want the service's 400 saying it must be in the future", err)
	}
}
