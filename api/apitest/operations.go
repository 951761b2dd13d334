// Package apitest reads api/openapi.yaml for the tests that hold the
// routers and the running service to it; the service itself never parses
// its contract, so this lives apart from package api.
package apitest

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/tokensvc/tokensvc/api"
)

// Operation is one operation api/openapi.yaml lists, with the face that
// serves it (its x-face: public, admin or both).
type Operation struct {
	Method string // upper case, as on the wire
	Path   string
	Face   string
}

// Faces are the x-face values an operation may have.
var Faces = []string{"public", "admin", "both"}

// Operations returns every operation the contract lists, sorted by path
// and method: what the tests hold the routers and the running service to.
func Operations() ([]Operation, error) {
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("api/openapi.yaml: %w", err)
	}
	var ops []Operation
	for path, methods := range doc.Paths {
		for method, node := range methods {
			if method == "parameters" {
				continue
			}
			var op struct {
				Face string `yaml:"x-face"`
			}
			if err := node.Decode(&op); err != nil {
				return nil, fmt.Errorf("api/openapi.yaml: %s %s: %w", method, path, err)
			}
			ops = append(ops, Operation{strings.ToUpper(method), path, op.Face})
		}
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Path != ops[j].Path {
			return ops[i].Path < ops[j].Path
		}
		return ops[i].Method < ops[j].Method
	})
	return ops, nil
}
