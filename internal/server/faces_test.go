package server_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/api/apitest"
)

// operation is one operation of api/openapi.yaml and the face serving it.
type operation struct {
	method, path, face string
}

// documented returns every operation api/openapi.yaml lists, with HEAD
// beside each GET (served wherever GET is, listed nowhere).
func documented(t *testing.T) []operation {
	t.Helper()
	listed, err := apitest.Operations()
	if err != nil {
		t.Fatal(err)
	}
	var ops []operation
	for _, op := range listed {
		ops = append(ops, operation{op.Method, op.Path, op.Face})
		if op.Method == http.MethodGet {
			ops = append(ops, operation{http.MethodHead, op.Path, op.Face})
		}
	}
	if len(ops) < 20 {
		t.Fatalf("api/openapi.yaml lists only %d operations", len(ops))
	}
	return ops
}

// routed reports whether the address at base routes op to an endpoint, as
// opposed to answering the router's 404. A routed request may fail in
// other ways (no body, an unknown kid): that is the endpoint answering.
func routed(t *testing.T, base string, op operation) bool {
	t.Helper()
	path := strings.NewReplacer("{kid}", "no-such-kid", "{id}", "ak_none", "{user_id}", "user-1").Replace(op.path)
	req, err := http.NewRequest(op.method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", op.method, base+path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		return true
	}
	if op.method == http.MethodHead {
		// No body to tell the router's 404 from the endpoint's: ask GET.
		get := op
		get.method = http.MethodGet
		return routed(t, base, get)
	}
	var p struct{ Type, Detail string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("%s %s: 404 without a problem: %v", op.method, path, err)
	}
	return !(p.Type == "urn:tokensvc:problem:not-found" && strings.HasPrefix(p.Detail, "no endpoint at"))
}

// TestFacesServeWhatOpenAPISays asks for every operation api/openapi.yaml
// lists, OPTIONS and HEAD included, on both addresses: each is served
// where its x-face says and is a 404 problem on the other address; with
// one address, everything is served there.
func TestFacesServeWhatOpenAPISays(t *testing.T) {
	ops := documented(t)
	t.Run("two addresses", func(t *testing.T) {
		r := start(t, map[string]string{"TOKENSVC_ADMIN_ADDR": "127.0.0.1:0"})
		public, admin := "http://"+r.Addr(), "http://"+r.AdminAddr()
		if r.AdminAddr() == "" || r.AdminAddr() == r.Addr() {
			t.Fatalf("Addr %s, AdminAddr %s: want two addresses", r.Addr(), r.AdminAddr())
		}
		for _, op := range ops {
			onPublic, onAdmin := routed(t, public, op), routed(t, admin, op)
			wantPublic, wantAdmin := op.face != "admin", op.face != "public"
			if onPublic != wantPublic || onAdmin != wantAdmin {
				t.Errorf("%s %s (x-face %s): served on public %v, on admin %v; want %v, %v",
					op.method, op.path, op.face, onPublic, onAdmin, wantPublic, wantAdmin)
			}
		}
	})
	t.Run("one address", func(t *testing.T) {
		r := start(t, nil)
		for _, op := range ops {
			if !routed(t, "http://"+r.Addr(), op) {
				t.Errorf("%s %s is not served on the one address", op.method, op.path)
			}
		}
	})
}
