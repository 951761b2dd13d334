package httpapi_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/tokensvc/tokensvc/api"
	"github.com/tokensvc/tokensvc/internal/httpapi"
)

// documentedOperations returns the operations api/openapi.yaml lists, as
// "METHOD /path", sorted.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatalf("api/openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	slices.Sort(documented)
	return documented
}

// TestOpenAPIMatchesRoutes keeps api/openapi.yaml true: every route the
// router serves is documented with its method, and every documented
// operation is served. HEAD, served wherever GET is, is listed in neither.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	documented := documentedOperations(t)
	handler := httpapi.New(httpapi.Deps{Metrics: httpapi.NewMetrics(prometheus.NewRegistry())})
	var served []string
	err := chi.Walk(handler.(chi.Routes), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		served = append(served, method+" "+route)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(served)
	for _, s := range served {
		if !slices.Contains(documented, s) {
			t.Errorf("served but not in api/openapi.yaml: %s", s)
		}
	}
	for _, d := range documented {
		if !slices.Contains(served, d) {
			t.Errorf("in api/openapi.yaml but not served: %s", d)
		}
	}
	if len(served) < 10 {
		t.Errorf("walked only %d routes: %v", len(served), served)
	}
}
