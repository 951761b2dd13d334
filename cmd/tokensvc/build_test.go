package main

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	goversion "go/version"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// patchedToolchain returns go.mod's toolchain line: the Go release every
// documented build must use, the oldest with no known vulnerability
// reachable from tokensvc (make vulncheck keeps that true).
func patchedToolchain(t *testing.T) string {
	t.Helper()
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain (go\S+)$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no toolchain line naming the patched Go release")
	}
	return string(m[1])
}

// TestDocumentedBuildsUsePatchedToolchain checks each documented way to
// build against go.mod's toolchain line: the README's commands go through
// make, make builds with that release even where the installed Go is older
// and GOTOOLCHAIN says local (as on a fresh machine), and the Dockerfile
// builds with it too.
func TestDocumentedBuildsUsePatchedToolchain(t *testing.T) {
	want := patchedToolchain(t)

	t.Run("README", func(t *testing.T) {
		readme, err := os.Open("../../README.md")
		if err != nil {
			t.Fatal(err)
		}
		defer readme.Close()
		bare := regexp.MustCompile(`^\s*(\S+=\S+\s+)*go (run|build|install) `)
		inBlock := false
		sc := bufio.NewScanner(readme)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if strings.HasPrefix(line, "```") {
				inBlock = !inBlock
				continue
			}
			if inBlock && bare.MatchString(line) && !strings.Contains(line, "GOTOOLCHAIN=auto") {
				t.Errorf("README.md:%d builds with whatever Go is installed: %q; use make (or GOTOOLCHAIN=auto)", n, line)
			}
		}
	})

	t.Run("make", func(t *testing.T) {
		cmd := exec.Command("make", "-s", "toolchain")
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make toolchain: %v\n%s", err, out)
		}
		// "go version go1.26.10 linux/amd64"
		fields := strings.Fields(string(out))
		if len(fields) < 3 || goversion.Compare(fields[2], want) < 0 {
			t.Errorf("make builds with %q under GOTOOLCHAIN=local, want %s or newer", strings.TrimSpace(string(out)), want)
		}
	})

	t.Run("Dockerfile", func(t *testing.T) {
		df, err := os.ReadFile("../../Dockerfile")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+\.\d+)`).FindSubmatch(df)
		if m == nil {
			t.Fatal("the Dockerfile builds from no golang:X.Y.Z image")
		}
		if got := "go" + string(m[1]); goversion.Compare(got, want) < 0 {
			t.Errorf("the Dockerfile builds with %s, want %s or newer", got, want)
		}
	})
}

// ldflagsStamps returns the -X main.NAME=VALUE settings of every go build
// line in text, by NAME.
func ldflagsStamps(t *testing.T, what, text string) map[string]string {
	t.Helper()
	stamps := map[string]string{}
	for _, m := range regexp.MustCompile(`-X main\.(\w+)=(\S*)`).FindAllStringSubmatch(text, -1) {
		stamps[m[1]] = strings.TrimSuffix(m[2], `"`)
	}
	if len(stamps) == 0 {
		t.Fatalf("%s stamps nothing with -X main.NAME=VALUE:\n%s", what, text)
	}
	return stamps
}

// stampableVars returns the package-level string variables of package
// main, the only ones -X can set: -X naming anything else is silently
// ignored by the linker.
func stampableVars(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	vars := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							vars[name.Name] = true
						}
					}
				}
			}
		}
	}
	return vars
}

// TestBuildsStampVersionAndCommit checks each way to build against
// printVersion: make's builds and the image stamp version and commit (the
// commit from git rev-parse --short HEAD), into variables that exist, and
// tokensvc version prints what was stamped.
func TestBuildsStampVersionAndCommit(t *testing.T) {
	vars := stampableVars(t)
	wantCommit := ""
	if out, err := exec.Command("git", "-C", "../..", "rev-parse", "--short", "HEAD").Output(); err == nil {
		wantCommit = strings.TrimSpace(string(out))
	}
	for _, target := range []string{"build", "build-purego"} {
		cmd := exec.Command("make", "-s", "-n", target, "VERSION=v9.9.9")
		cmd.Dir = "../.."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		stamps := ldflagsStamps(t, "make "+target, string(out))
		if stamps["version"] != "v9.9.9" || (wantCommit != "" && stamps["commit"] != wantCommit) {
			t.Errorf("make %s stamps %v, want version v9.9.9 and commit %s", target, stamps, wantCommit)
		}
		for name := range stamps {
			if !vars[name] {
				t.Errorf("make %s sets main.%s, which is no string variable of package main", target, name)
			}
		}
	}

	cmd := exec.Command("make", "-s", "-n", "image", "VERSION=v9.9.9")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n image: %v\n%s", err, out)
	}
	for _, want := range []string{"--build-arg VERSION=v9.9.9", "--build-arg COMMIT=" + wantCommit} {
		if !strings.Contains(string(out), want) {
			t.Errorf("make image does not pass %s: %s", want, out)
		}
	}
	df, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	stamps := ldflagsStamps(t, "the Dockerfile", string(df))
	for name, value := range stamps {
		arg := strings.ToUpper(name)
		if value != "${"+arg+"}" || !strings.Contains(string(df), "\nARG "+arg) {
			t.Errorf("the Dockerfile stamps main.%s=%s, want ${%s} from an ARG %s", name, value, arg, arg)
		}
		if !vars[name] {
			t.Errorf("the Dockerfile sets main.%s, which is no string variable of package main", name)
		}
	}
	for _, name := range []string{"version", "commit"} {
		if _, ok := stamps[name]; !ok {
			t.Errorf("the Dockerfile does not stamp main.%s", name)
		}
	}

	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v9.9.9", "abc1234"
	var buf strings.Builder
	if err := run(t.Context(), []string{"version"}, func(string) string { return "" }, &buf, &buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tokensvc v9.9.9\n", "\ncommit: abc1234\n", "\ngo:     " + runtime.Version() + "\n", "\nsigner: " + keys.SignerName() + "\n"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("tokensvc version printed %q, want a line %q", buf.String(), strings.TrimSpace(want))
		}
	}
}
