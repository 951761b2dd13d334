package httpapi_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokensvc/tokensvc/api/apitest"
	"github.com/tokensvc/tokensvc/internal/httpapi"
)

// documentedOperations returns the operations api/openapi.yaml lists, as
// "METHOD /path", sorted; with faces, only those whose x-face is one of them.
func documentedOperations(t *testing.T, faces ...string) []string {
	t.Helper()
	ops, err := apitest.Operations()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, op := range ops {
		if !slices.Contains(apitest.Faces, op.Face) {
			t.Errorf("%s %s: x-face is %q, want public, admin or both", op.Method, op.Path, op.Face)
		}
		if len(faces) == 0 || slices.Contains(faces, op.Face) {
			documented = append(documented, op.Method+" "+op.Path)
		}
	}
	slices.Sort(documented)
	return documented
}

// servedRoutes returns the routes handler serves, as "METHOD /path",
// but for the operator console's: its pages are HTML for people, not API,
// and api/openapi.yaml does not list them.
func servedRoutes(t *testing.T, handler http.Handler) []string {
	t.Helper()
	var served []string
	err := chi.Walk(handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if route == "/console" || strings.HasPrefix(route, "/console/") {
			return nil
		}
		served = append(served, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(served)
	return served
}

// sameOperations reports the operations in one list and not the other.
func sameOperations(t *testing.T, what string, served, documented []string) {
	t.Helper()
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("%s: served but not in api/openapi.yaml: %s", what, s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("%s: in api/openapi.yaml but not served: %s", what, d)
		}
	}
	if len(served) < 3 {
		t.Errorf("%s: walked only %d routes: %v", what, len(served), served)
	}
}

// TestOpenAPIMatchesRoutes keeps api/openapi.yaml true: every route the
// router serves is documented with its method, and every documented
// operation is served. HEAD, served wherever GET is, is listed in neither.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	handler := httpapi.New(httpapi.Deps{Metrics: httpapi.NewMetrics(prometheus.NewRegistry()), Console: consoleStub()})
	sameOperations(t, "one address", servedRoutes(t, handler), documentedOperations(t))
}

// TestFacesMatchOpenAPI checks that, with an admin address, each face
// serves exactly the operations api/openapi.yaml's x-face gives it.
func TestFacesMatchOpenAPI(t *testing.T) {
	public, admin := httpapi.NewFaces(httpapi.Deps{Metrics: httpapi.NewMetrics(prometheus.NewRegistry()), Console: consoleStub()})
	sameOperations(t, "public face", servedRoutes(t, public), documentedOperations(t, "public", "both"))
	sameOperations(t, "admin face", servedRoutes(t, admin), documentedOperations(t, "admin", "both"))
}

// consoleStub stands for the operator console, which these tests skip:
// a router with a page, so that the skipping is tested too.
func consoleStub() http.Handler {
	r := chi.NewRouter()
	r.Get("/keys", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return r
}

// TestConsoleOnlyOnTheAdminFace checks that Deps.Console is served under
// /console on the admin face and the one address, never on the public
// face.
func TestConsoleOnlyOnTheAdminFace(t *testing.T) {
	deps := func() httpapi.Deps {
		return httpapi.Deps{Metrics: httpapi.NewMetrics(prometheus.NewRegistry()), Console: consoleStub(),
			Logger: slog.New(slog.DiscardHandler)}
	}
	public, admin := httpapi.NewFaces(deps())
	for name, tc := range map[string]struct {
		handler http.Handler
		status  int
	}{
		"one address": {httpapi.New(deps()), http.StatusOK},
		"admin face":  {admin, http.StatusOK},
		"public face": {public, http.StatusNotFound},
	} {
		w := httptest.NewRecorder()
		tc.handler.ServeHTTP(w, httptest.NewRequest("GET", "/console/keys", nil))
		if w.Code != tc.status {
			t.Errorf("%s: GET /console/keys answered %d, want %d", name, w.Code, tc.status)
		}
	}
}
