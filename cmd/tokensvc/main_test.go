package main

import (
	"errors"
	"strings"
	"testing"
)

func TestCommandsHelp(t *testing.T) {
	for _, args := range [][]string{{}, {"--help"}, {"serve", "--help"}, {"migrate", "--help"}, {"version", "--help"}, {"healthcheck", "--help"}, {"keys", "--help"}, {"verify", "--help"}, {"token", "--help"}, {"apikey", "--help"}, {"doctor", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut syncBuffer
			if err := run(t.Context(), args, func(string) string { return "" }, &out, &errOut); err != nil {
				t.Fatalf("help failed: %v", err)
			}
			if !strings.Contains(out.String(), "Usage:") {
				t.Errorf("no usage printed on stdout:\n%s", out.String())
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut syncBuffer
	err := run(t.Context(), []string{"mint"}, func(string) string { return "" }, &out, &errOut)
	var u usageError
	if !errors.As(err, &u) || !strings.Contains(err.Error(), `unknown command "mint"`) {
		t.Fatalf("err = %v, want a usage error naming the command", err)
	}
	if err := run(t.Context(), []string{"serve", "extra"}, func(string) string { return "" }, &out, &errOut); !errors.As(err, &u) {
		t.Fatalf("serve with an extra argument: err = %v, want a usage error", err)
	}
}

func TestVersion(t *testing.T) {
	var out syncBuffer
	if err := run(t.Context(), []string{"version"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "tokensvc dev") {
		t.Errorf("version printed %q", out.String())
	}
}

func TestHealthcheck(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	addr := strings.TrimPrefix(svc.url, "http://")
	var out syncBuffer
	if err := run(t.Context(), []string{"healthcheck"}, func(k string) string { return map[string]string{"TOKENSVC_ADDR": addr}[k] }, &out, &out); err != nil {
		t.Fatalf("healthcheck of a running service: %v", err)
	}
	svc.stop()
	if err := run(t.Context(), []string{"healthcheck"}, func(k string) string { return map[string]string{"TOKENSVC_ADDR": addr}[k] }, &out, &out); err == nil {
		t.Fatal("healthcheck passed with the service stopped")
	}
}
