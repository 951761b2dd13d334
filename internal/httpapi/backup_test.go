package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/embedded"
	"github.com/tokensvc/tokensvc/internal/httpapi"
)

// backupOf is the store's hot backup, or nil for PostgreSQL, as serve
// wires it.
func backupOf(st any) httpapi.StoreBackup {
	b, _ := st.(httpapi.StoreBackup)
	return b
}

// TestBackupIsTheStoreAsServed takes a backup over HTTP while the service
// serves and opens the copy as a store: it holds the same signing keys
// (sealed) and API keys, and its audit log records its own taking.
func TestBackupIsTheStoreAsServed(t *testing.T) {
	h := newHarness(t, options{})
	if r := h.do(t, call{method: "GET", path: "/v1/backup", auth: "Bearer " + h.issueSecret}); r.status != http.StatusForbidden {
		t.Errorf("GET /v1/backup with an issue key: %d, want 403", r.status)
	}
	r := h.do(t, call{method: "GET", path: "/v1/backup", auth: "Bearer " + h.adminSecret})
	if r.status != http.StatusOK {
		t.Fatalf("GET /v1/backup: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.header.Get("Content-Disposition"); !regexp.MustCompile(`^attachment; filename="tokensvc-\d{8}T\d{6}Z\.db"$`).MatchString(cd) {
		t.Errorf("Content-Disposition %q", cd)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	cp, err := embedded.OpenReadOnly(path)
	if err != nil {
		t.Fatalf("the backup does not open as a store: %v", err)
	}
	defer cp.Close()
	got, err := cp.Contents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	active, err := h.ring.Active()
	if err != nil {
		t.Fatal(err)
	}
	if len(got.SigningKeys) != 1 || got.SigningKeys[0].KID != active.KID || got.SigningKeys[0].SealedPrivateKey == nil {
		t.Errorf("backup's signing keys: %+v; want the served key, sealed", got.SigningKeys)
	}
	if len(got.APIKeys) != 2 {
		t.Errorf("backup holds %d API keys, want 2", len(got.APIKeys))
	}
	actions := []string{}
	for _, e := range got.Audit {
		actions = append(actions, e.Action)
	}
	if !slices.Contains(actions, "store.backup") {
		t.Errorf("backup's audit log %v does not record store.backup", actions)
	}
	if n := strings.Count(strings.Join(auditActions(h.audit(t, "")), " "), "store.backup"); n != 1 {
		t.Errorf("the service's audit log records store.backup %d times, want once", n)
	}
	if r := h.do(t, call{method: "HEAD", path: "/v1/backup", auth: "Bearer " + h.adminSecret}); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD /v1/backup: %d, %d bytes", r.status, len(r.body))
	}
	if n := strings.Count(strings.Join(auditActions(h.audit(t, "")), " "), "store.backup"); n != 1 {
		t.Errorf("after a HEAD, the audit log records store.backup %d times, want once", n)
	}
}

func auditActions(p auditPage) []string {
	var out []string
	for _, e := range p.Entries {
		out = append(out, e.Action)
	}
	return out
}

// TestBackupOnPostgresSaysUsePgDump: 409 with what to do, not a 5xx.
func TestBackupOnPostgresSaysUsePgDump(t *testing.T) {
	h := newHarness(t, options{postgres: true})
	r := h.do(t, call{method: "GET", path: "/v1/backup", auth: "Bearer " + h.adminSecret})
	var p problemBody
	if err := json.Unmarshal(r.body, &p); err != nil || r.status != http.StatusConflict || !strings.Contains(p.Detail, "pg_dump") {
		t.Fatalf("GET /v1/backup on PostgreSQL: %d %s; want 409 naming pg_dump", r.status, r.body)
	}
}
