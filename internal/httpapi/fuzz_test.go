package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzEndpoints sends arbitrary bodies and headers to the endpoints that
// take input, through the whole handler: the answer is never a 5xx (the
// harness's store is healthy, so a 5xx would be tokensvc's own fault), and
// every refusal is problem+json.
func FuzzEndpoints(f *testing.F) {
	h := newHarness(f, options{})
	handler := h.srv.Config.Handler
	paths := []string{"/v1/tokens", "/v1/sessions", "/v1/sessions/refresh", "/v1/verify", "/v1/apikeys", "/v1/users/x/sessions"}
	for i, s := range []string{
		`{"user_id":"alice"}`, `{"user_id":"a","ttl_seconds":60,"claims":{"plan":"pro"}}`,
		`{"user_id":"a\u0000b"}`, `{"user_id":"` + strings.Repeat("x", 300) + `"}`,
		`{"refresh_token":"tkr_x"}`, `{"token":"a.b.c","user_id":"alice"}`, `{"name":"n","scope":"admin"}`,
		`{"user_id":"a","claims":{"sub":"other"}}`, `{"ttl_seconds":-1,"user_id":"a"}`,
	} {
		f.Add(uint8(i), s, "application/json", true)
	}
	f.Fuzz(func(t *testing.T, which uint8, body, contentType string, admin bool) {
		path := paths[int(which)%len(paths)]
		method := "POST"
		if strings.HasPrefix(path, "/v1/users/") {
			method = "DELETE"
		}
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		secret := h.issueSecret
		if admin {
			secret = h.adminSecret
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q (%s) = %d %s", method, path, body, contentType, w.Code, w.Body)
		}
		if w.Code >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%d answered as %q, not problem+json", w.Code, w.Header().Get("Content-Type"))
		}
		if w.Code == http.StatusOK && path == "/v1/tokens" && !strings.Contains(w.Body.String(), `"token":"ey`) {
			t.Fatalf("200 without a token: %s", w.Body)
		}
	})
}
