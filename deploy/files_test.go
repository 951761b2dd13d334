package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/tokensvc/tokensvc/internal/config"
)

// readFile returns the file at path, relative to the repository's root.
func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var settingName = regexp.MustCompile(`TOKENSVC_[A-Z0-9_]+`)

// TestDeploymentFilesNameOnlyKnownSettings checks every TOKENSVC_* a
// deployment file names, in a value or a comment, against config.Vars: a
// misspelt setting is otherwise ignored without a word.
func TestDeploymentFilesNameOnlyKnownSettings(t *testing.T) {
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
	}
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("prometheus/*.yaml")
	files = append(files, more...)
	for i := range files {
		files[i] = filepath.Join("deploy", files[i])
	}
	// The Dockerfile and .env.example: see internal/config.
	files = append(files, "docker-compose.yml")
	for _, f := range files {
		for _, name := range settingName.FindAllString(string(readFile(t, f)), -1) {
			if !known[name] {
				t.Errorf("%s names %s, which tokensvc does not read", f, name)
			}
		}
	}
}
