package tokenclient_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// TestAdminAgainstTheService walks a key rotation, an API key's life and
// the audit log through Admin against a real tokensvc, and checks that the
// service's refusals come back as *tokenclient.Error with their problem.
func TestAdminAgainstTheService(t *testing.T) {
	s := startService(t)
	ctx := t.Context()
	admin := &tokenclient.Admin{URL: s.url, APIKey: s.admin}
	first, err := s.backend().Mint(ctx, "u", 0)
	if err != nil {
		t.Fatal(err)
	}

	ks, err := admin.Keys(ctx)
	if err != nil || len(ks) != 1 || ks[0].KID != first.KID || ks[0].State != "active" || ks[0].Bits < 2048 || ks[0].RegisteredAt != nil {
		t.Fatalf("Keys = %+v, %v; want the one active key, not yet confirmed", ks, err)
	}
	next, err := admin.CreateKey(ctx)
	if err != nil || next.State != "pending" || next.Dashboard != "add" || next.Fingerprint == "" {
		t.Fatalf("CreateKey = %+v, %v", next, err)
	}
	pem, err := admin.KeyPEM(ctx, next.KID)
	if err != nil || !strings.HasPrefix(string(pem), "-----BEGIN PUBLIC KEY-----") {
		t.Fatalf("KeyPEM = %q, %v", pem, err)
	}

	_, err = admin.ActivateKey(ctx, next.KID, false)
	var p *tokenclient.Error
	if !errors.As(err, &p) || p.Status != 409 || p.Type != "urn:tokensvc:problem:key-not-registered" || !strings.Contains(p.Detail, "--force") {
		t.Fatalf("ActivateKey of an unconfirmed key: err = %#v, want the 409 key-not-registered problem", err)
	}
	confirmed, err := admin.ConfirmKey(ctx, next.KID)
	if err != nil || confirmed.RegisteredAt == nil || confirmed.RegisteredBy == nil || confirmed.Dashboard != "add" && confirmed.Dashboard != "keep" {
		t.Fatalf("ConfirmKey = %+v, %v", confirmed, err)
	}
	act, err := admin.ActivateKey(ctx, next.KID, false)
	if err != nil || act.Activated.KID != next.KID || act.Retired == nil || act.Retired.KID != first.KID || act.Retired.PublishUntil == nil {
		t.Fatalf("ActivateKey = %+v, %v; want %s active and %s retired", act, err, next.KID, first.KID)
	}
	rev, err := admin.RevokeKey(ctx, next.KID)
	if err != nil || rev.Revoked.KID != next.KID || rev.Replacement == nil || rev.Action == "" {
		t.Fatalf("RevokeKey = %+v, %v; want a replacement and what to do", rev, err)
	}

	created, err := admin.CreateAPIKey(ctx, "ios backend", "issue")
	if err != nil || !strings.HasPrefix(created.ID, "ak_") || created.Secret == "" || created.Scope != "issue" {
		t.Fatalf("CreateAPIKey = %+v, %v", created, err)
	}
	aks, err := admin.APIKeys(ctx)
	if err != nil || len(aks) != 2 {
		t.Fatalf("APIKeys = %+v, %v; want the bootstrap key and the new one", aks, err)
	}
	for _, k := range aks {
		if k.Secret != "" {
			t.Errorf("APIKeys shows %s's secret", k.ID)
		}
	}
	if err := admin.RevokeAPIKey(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	var bootstrap string
	for _, k := range aks {
		if k.Scope == "admin" {
			bootstrap = k.ID
		}
	}
	err = admin.RevokeAPIKey(ctx, bootstrap)
	if !errors.As(err, &p) || p.Status != 409 || !strings.HasSuffix(p.Type, ":last-admin-key") || p.Detail == "" {
		t.Errorf("revoking the last admin key: err = %#v, want the 409 last-admin-key problem", err)
	}

	page, err := admin.Audit(ctx, tokenclient.AuditQuery{Limit: 1})
	if err != nil || len(page.Entries) != 1 || page.NextBefore == nil {
		t.Fatalf("Audit(limit 1) = %+v, %v; want one entry and a next page", page, err)
	}
	if e := page.Entries[0]; e.Action != "apikey.revoke" || e.Target != bootstrap || !strings.Contains(e.Outcome, "last-admin-key") || e.Actor.Kind != "api_key" || e.RequestID == "" {
		t.Errorf("newest audit entry %+v, want the refused revocation of the last admin key", e)
	}
	older, err := admin.Audit(ctx, tokenclient.AuditQuery{Limit: 1000, Before: *page.NextBefore})
	if err != nil || len(older.Entries) == 0 || older.NextBefore != nil {
		t.Errorf("Audit(before) = %+v, %v; want the rest of the log", older, err)
	}

	wrong := &tokenclient.Admin{URL: s.url, APIKey: "tks_wrong"}
	if _, err := wrong.Keys(ctx); !errors.As(err, &p) || p.Status != 401 {
		t.Errorf("Keys with a wrong API key: err = %v, want a 401 *Error", err)
	}
	if _, err := (&tokenclient.Admin{URL: "tokensvc:8080"}).Keys(ctx); !errors.Is(err, tokenclient.ErrMisconfigured) {
		t.Errorf("Keys with a URL that is not http(s): err = %v, want ErrMisconfigured", err)
	}
}
