package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestAuditCommand(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	out, err := cli(t, svc, admin, "apikey", "create", "--name", "ios backend", "--scope", "issue")
	m := regexp.MustCompile(`created (ak_\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("apikey create: %v\n%s", err, out)
	}
	id := m[1]

	out, err = cli(t, svc, admin, "audit")
	if err != nil || !regexp.MustCompile(`(?m)^\S+\s+ak_\S+ \(bootstrap\)\s+apikey\.create\s+`+id+`\s+ok\s+req_\S+$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)\s+scheduler\s+key\.create\s+`).MatchString(out) {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	if strings.Contains(out, "Older entries") {
		t.Errorf("a whole log says there are older entries:\n%s", out)
	}

	out, err = cli(t, svc, admin, "audit", "--json", "--limit", "1")
	var page struct {
		Entries []struct {
			Action, Target string
			Actor          struct{ Kind, Name string }
		}
		NextBefore string `json:"next_before"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Entries) != 1 || page.NextBefore == "" {
		t.Fatalf("audit --json --limit 1: %v\n%s", err, out)
	}
	if e := page.Entries[0]; e.Action != "apikey.create" || e.Target != id || e.Actor.Kind != "api_key" || e.Actor.Name != "bootstrap" {
		t.Errorf("newest entry %+v, want the API key just created, by the bootstrap key", e)
	}
	out, err = cli(t, svc, admin, "audit", "--limit", "1")
	if err != nil || !strings.Contains(out, "Older entries: tokensvc audit --limit 1 --before ") {
		t.Errorf("audit --limit 1 does not say how to see older entries: %v\n%s", err, out)
	}

	for _, args := range [][]string{{"audit", "--before", "yesterday"}, {"audit", "extra"}} {
		if _, err := cli(t, svc, admin, args...); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	if _, err := cli(t, svc, admin, "audit", "--limit", "0"); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("audit --limit 0: err = %v, want the service's refusal naming limit", err)
	}
}
