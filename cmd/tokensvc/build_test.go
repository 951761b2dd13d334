package main

import (
	"bufio"
	goversion "go/version"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
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
