package config_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/tokensvc/tokensvc/internal/config"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestREADMEConfigTable checks the README's configuration table row by row
// against Vars: same names, same order, same defaults, same text.
func TestREADMEConfigTable(t *testing.T) {
	readme := readRepoFile(t, "README.md")
	start := strings.Index(readme, "<!-- config table")
	end := strings.Index(readme, "<!-- end config table -->")
	if start < 0 || end < start {
		t.Fatal("README.md has no config table markers")
	}
	var rows []string
	for _, line := range strings.Split(readme[start:end], "\n") {
		if strings.HasPrefix(line, "| `TOKENSVC_") {
			rows = append(rows, strings.Join(strings.Fields(line), " "))
		}
	}
	var want []string
	for _, v := range config.Vars() {
		def := ""
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		want = append(want, strings.Join(strings.Fields("| `"+v.Name+"` | "+def+" | "+v.Usage+" |"), " "))
	}
	if !slices.Equal(rows, want) {
		t.Errorf("README config table is out of date; want these rows:\n%s", strings.Join(want, "\n"))
	}
}

// TestDeploymentFilesUseKnownVariables checks that docker-compose.yml and
// .env.example set only variables the config reads.
func TestDeploymentFilesUseKnownVariables(t *testing.T) {
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
	}
	var compose struct {
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			EnvFile     any               `yaml:"env_file"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal([]byte(readRepoFile(t, "docker-compose.yml")), &compose); err != nil {
		t.Fatal(err)
	}
	svc, ok := compose.Services["tokensvc"]
	if !ok || len(svc.Environment) == 0 {
		t.Fatal("docker-compose.yml has no tokensvc service with an environment")
	}
	names := []string{}
	for name := range svc.Environment {
		names = append(names, name)
	}
	envExample := readRepoFile(t, ".env.example")
	for _, m := range regexp.MustCompile(`(?m)^(TOKENSVC_\w+)=`).FindAllStringSubmatch(envExample, -1) {
		names = append(names, m[1])
	}
	for _, name := range names {
		if !known[name] {
			t.Errorf("%s is set by the deployment files but tokensvc does not read it", name)
		}
	}
	if !strings.Contains(envExample, "TOKENSVC_MASTER_KEY=") {
		t.Error(".env.example lacks TOKENSVC_MASTER_KEY, which PostgreSQL mode requires")
	}
	if svc.EnvFile != ".env" {
		t.Errorf("tokensvc's env_file = %v, want .env", svc.EnvFile)
	}
}

// TestDockerfileMatchesBinary checks the Dockerfile against the code it
// packages: the command it runs and the healthcheck it calls exist, and the
// variables it sets are ones the config reads.
func TestDockerfileMatchesBinary(t *testing.T) {
	df := readRepoFile(t, "Dockerfile")
	makefile := readRepoFile(t, "Makefile")
	const releaseFlags = `-tags netgo,osusergo -trimpath -ldflags "-s -w -X main.version=`
	const releaseEnv = "CGO_ENABLED=1"
	for _, want := range []string{releaseFlags, releaseEnv} {
		if !strings.Contains(makefile, want) {
			t.Errorf("Makefile's release build lacks %s", want)
		}
	}
	for _, want := range []string{
		releaseFlags,
		releaseEnv,
		`CMD ["serve"]`,
		`HEALTHCHECK`, `"/tokensvc", "healthcheck"`,
		"./cmd/tokensvc",
		"USER 65532",
		"distroless/base-debian12", // glibc and libssl3 (libcrypto.so.3), to sign through OpenSSL
	} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	if strings.Contains(df, "libssl-dev") {
		t.Error("the Dockerfile installs libssl-dev: the signer loads libcrypto.so.3 at run time and needs no OpenSSL headers to build")
	}
	known := map[string]bool{}
	for _, v := range config.Vars() {
		known[v.Name] = true
	}
	for _, m := range regexp.MustCompile(`(TOKENSVC_\w+)=`).FindAllStringSubmatch(df, -1) {
		if !known[m[1]] {
			t.Errorf("Dockerfile sets %s, which tokensvc does not read", m[1])
		}
	}
}
