package config_test

import (
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/config"
)

const goodWebhookSecret = "whsec-Q7mZ2pL4vR8wT1yB6nC3hJ5dG0sAkX9f"

// TestWebhookSettings: the notification settings are read, and a URL that
// is not absolute http(s), an unknown format, a guessable secret or a
// secret without a URL are refused, each on its own line.
func TestWebhookSettings(t *testing.T) {
	c, err := config.Load(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookURL != "" || c.WebhookFormat != "json" || c.WebhookSecret != "" {
		t.Errorf("webhook defaults = %q %q %q, want no URL, json, no secret", c.WebhookURL, c.WebhookFormat, c.WebhookSecret)
	}
	c, err = config.Load(envOf(map[string]string{
		"TOKENSVC_WEBHOOK_URL":    "https://hooks.slack.com/services/T000/B000/XXXX",
		"TOKENSVC_WEBHOOK_FORMAT": "Slack",
		"TOKENSVC_WEBHOOK_SECRET": goodWebhookSecret,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.WebhookURL != "https://hooks.slack.com/services/T000/B000/XXXX" || c.WebhookFormat != "slack" || c.WebhookSecret != goodWebhookSecret {
		t.Errorf("webhook settings = %q %q %q", c.WebhookURL, c.WebhookFormat, c.WebhookSecret)
	}

	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"relative URL", map[string]string{"TOKENSVC_WEBHOOK_URL": "/hooks/tokensvc"}, "TOKENSVC_WEBHOOK_URL: must be an absolute http:// or https:// URL"},
		{"host without scheme", map[string]string{"TOKENSVC_WEBHOOK_URL": "hooks.internal/tokensvc"}, "TOKENSVC_WEBHOOK_URL: must be an absolute"},
		{"other scheme", map[string]string{"TOKENSVC_WEBHOOK_URL": "ftp://hooks.example.com/x"}, "TOKENSVC_WEBHOOK_URL: must be an absolute"},
		{"no host", map[string]string{"TOKENSVC_WEBHOOK_URL": "https:///x"}, "TOKENSVC_WEBHOOK_URL: must be an absolute"},
		{"unparsable", map[string]string{"TOKENSVC_WEBHOOK_URL": "https://hooks.example.com:port/x"}, "TOKENSVC_WEBHOOK_URL: must be an absolute"},
		{"unknown format", map[string]string{"TOKENSVC_WEBHOOK_URL": "https://h.example", "TOKENSVC_WEBHOOK_FORMAT": "xml"}, `TOKENSVC_WEBHOOK_FORMAT: "xml" is not a format`},
		{"short secret", map[string]string{"TOKENSVC_WEBHOOK_URL": "https://h.example", "TOKENSVC_WEBHOOK_SECRET": "hunter2"}, "TOKENSVC_WEBHOOK_SECRET: is 7 characters, want at least 32"},
		{"secret with space", map[string]string{"TOKENSVC_WEBHOOK_URL": "https://h.example", "TOKENSVC_WEBHOOK_SECRET": strings.Repeat("ab cd ", 8)}, "TOKENSVC_WEBHOOK_SECRET: must be printable ASCII"},
		{"secret without URL", map[string]string{"TOKENSVC_WEBHOOK_SECRET": goodWebhookSecret}, "TOKENSVC_WEBHOOK_SECRET: is set but TOKENSVC_WEBHOOK_URL is not"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(envOf(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("err = %v\nwant one line with %q", err, tc.want)
			}
			if u := tc.env["TOKENSVC_WEBHOOK_URL"]; err != nil && u != "" && strings.Contains(err.Error(), u) {
				t.Errorf("the error repeats the URL, whose path may be a secret: %v", err)
			}
		})
	}
}
