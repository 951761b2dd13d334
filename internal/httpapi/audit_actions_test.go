package httpapi_test

import (
	"regexp"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokensvc/tokensvc/api"
	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/session"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

// TestDocumentedAuditActions holds api/openapi.yaml's list of the audit
// log's actions to the actions the domain packages audit: a new action
// that GET /v1/audit returns is documented with it.
func TestDocumentedAuditActions(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				AuditEntry struct {
					Properties struct {
						Action struct {
							Description string `yaml:"description"`
						} `yaml:"action"`
					} `yaml:"properties"`
				} `yaml:"AuditEntry"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	documented := regexp.MustCompile(`\b[a-z]+\.[a-z]+\b`).FindAllString(doc.Components.Schemas.AuditEntry.Properties.Action.Description, -1)
	audited := []string{
		keys.ActionCreate, keys.ActionImport, keys.ActionConfirm, keys.ActionActivate, keys.ActionRetire, keys.ActionExpire, keys.ActionRevoke,
		apikey.ActionCreate, apikey.ActionRevoke, apikey.ActionConsoleSignIn, apikey.ActionConsoleSignOut,
		session.ActionEndAll, transfer.ActionBackup, transfer.ActionImport,
	}
	slices.Sort(documented)
	slices.Sort(audited)
	if !slices.Equal(slices.Compact(documented), audited) {
		t.Errorf("api/openapi.yaml AuditEntry.action lists %v; the code audits %v", documented, audited)
	}
}
