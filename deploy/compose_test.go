package deploy_test

import (
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestComposeRefusesAnEmptyMasterKey checks that docker compose stops
// before starting anything when TOKENSVC_MASTER_KEY is unset or empty
// (${VAR:?message}), saying where to set it and how to make one, rather
// than starting tokensvc to fail on it; and that .env.example leaves it
// empty, so that nobody runs on an example's key.
func TestComposeRefusesAnEmptyMasterKey(t *testing.T) {
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			// A path, or a context with args.
			Build any `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(readFile(t, "docker-compose.yml"), &compose); err != nil {
		t.Fatal(err)
	}
	svc := compose.Services["tokensvc"]
	got := svc.Environment["TOKENSVC_MASTER_KEY"]
	m := regexp.MustCompile(`^\$\{TOKENSVC_MASTER_KEY:\?(.+)\}$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("tokensvc's TOKENSVC_MASTER_KEY = %q, want ${TOKENSVC_MASTER_KEY:?message}", got)
	}
	for _, want := range []string{".env", "openssl rand -base64 32"} {
		if !strings.Contains(m[1], want) {
			t.Errorf("the message %q does not say %q", m[1], want)
		}
	}
	if !regexp.MustCompile(`(?m)^TOKENSVC_MASTER_KEY=$`).Match(readFile(t, ".env.example")) {
		t.Error(".env.example must leave TOKENSVC_MASTER_KEY empty")
	}

	// The image compose builds is stamped like make image's.
	build, _ := svc.Build.(map[string]any)
	args, _ := build["args"].(map[string]any)
	df := string(readFile(t, "Dockerfile"))
	for _, arg := range []string{"VERSION", "COMMIT"} {
		if _, ok := args[arg]; !ok {
			t.Errorf("compose builds tokensvc without the build arg %s", arg)
		}
		if !strings.Contains(df, "ARG "+arg) {
			t.Errorf("the Dockerfile has no ARG %s", arg)
		}
	}
}
