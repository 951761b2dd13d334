// Package deps_test guards tokensvc's layering: an import added "just for a
// type" that makes a package link what it must not fails here, not in a
// review. Each rule runs `go list -deps` on a package, under the default
// build and the release build's tags, and names the packages it must not
// link.
package deps_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/tokensvc/tokensvc"

// testHelpers are linked only by tests: a binary linking one carries test
// code (and often the testing package's flags) into production.
var testHelpers = []string{
	"testing",
	"net/http/httptest",
	module + "/internal/pgtest",
	module + "/internal/storetest",
	module + "/internal/jwtforge",
	module + "/internal/browsertest",
	module + "/tokenclient/sdktest",
	module + "/api/apitest",
}

// rules says, for each guarded package, which packages it must not link
// (a path forbids the package and every package under it) and why.
var rules = []struct {
	pkg       string
	forbidden []string
	why       string
}{
	{
		pkg:       "internal/verify",
		forbidden: []string{"github.com/lestrrat-go/jwx", module + "/internal/issuer", module + "/internal/keys"},
		why:       "verify checks tokens as the vendor does, independently of the library and code that sign them",
	},
	{pkg: "cmd/tokensvc", forbidden: testHelpers, why: "the service binary links no test code"},
	{pkg: "cmd/tokensoak", forbidden: testHelpers, why: "the soak binary links no test code"},
	{pkg: "cmd/tokenbench", forbidden: testHelpers, why: "the bench binary links no test code"},
	{
		pkg: "internal/storage",
		forbidden: []string{"gocloud.dev/secrets/awskms", "gocloud.dev/secrets/gcpkms", "gocloud.dev/secrets/azurekeyvault",
			"gocloud.dev/secrets/hashivault", "github.com/aws", "github.com/Azure", "cloud.google.com", "github.com/hashicorp/vault"},
		why: "the KMS drivers and their cloud SDKs are linked by cmd/tokensvc/kms.go alone, so that only the binary compiles them",
	},
	{
		pkg:       "internal/keys",
		forbidden: []string{"github.com/go-chi", module + "/internal/httpapi", module + "/internal/server", module + "/cmd"},
		why:       "keys owns key material and its lifecycle; routes and CLI text are the edge's",
	},
}

// buildTags are the tag sets the binaries are built with: the default
// (the tests) and make build's.
var buildTags = []string{"", "netgo,osusergo"}

func TestForbiddenImports(t *testing.T) {
	for _, r := range rules {
		for _, tags := range buildTags {
			t.Run(r.pkg+"/tags="+tags, func(t *testing.T) {
				var bad []string
				for _, dep := range deps(t, module+"/"+r.pkg, tags) {
					for _, f := range r.forbidden {
						if dep == f || strings.HasPrefix(dep, f+"/") {
							bad = append(bad, dep)
						}
					}
				}
				if len(bad) > 0 {
					t.Errorf("%s links %s: %s (see `go mod why -m` or `go list -deps`)", r.pkg, strings.Join(bad, ", "), r.why)
				}
			})
		}
	}
}

// TestKeysKnowNoRoutesOrCommands keeps HTTP routes and CLI commands out of
// internal/keys' strings: the messages that name them are composed at the
// edge (internal/httpapi, internal/server), from the facts keys returns.
func TestKeysKnowNoRoutesOrCommands(t *testing.T) {
	dir := filepath.Join(moduleDir(t), "internal", "keys")
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, edge := range []string{"/v1/", "tokensvc keys", "tokensvc apikeys"} {
				if strings.Contains(s, edge) {
					t.Errorf("%s: string %q names %q: routes and CLI commands belong to the edge", fset.Position(lit.Pos()), s, edge)
				}
			}
			return true
		})
	}
}

// moduleDir is the directory of the module's root.
func moduleDir(t *testing.T) string {
	t.Helper()
	return strings.TrimSpace(goCmd(t, "list", "-m", "-f", "{{.Dir}}"))
}

// deps lists what pkg links under tags.
func deps(t *testing.T, pkg, tags string) []string {
	t.Helper()
	out := goCmd(t, "list", "-deps", "-tags="+tags, pkg)
	return strings.Fields(out)
}

func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("go", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
