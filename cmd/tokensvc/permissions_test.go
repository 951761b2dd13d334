package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// TestLoosePermissionsWarned: secrets on disk that group or others may read
// are reported, by a WARN line at start and a ✗ from doctor.
func TestLoosePermissionsWarned(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	root := t.TempDir()
	dataDir := filepath.Join(root, "data")
	keyFile := filepath.Join(root, "master.key")
	master, _ := keys.NewMasterKey()
	if err := os.WriteFile(keyFile, []byte(master+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		env  map[string]string
		// loosen makes paths readable by others after a first start.
		loosen map[string]os.FileMode
	}{
		{"embedded store", map[string]string{"TOKENSVC_DATA_DIR": dataDir}, map[string]os.FileMode{
			dataDir: 0o755, filepath.Join(dataDir, "master.key"): 0o644, filepath.Join(dataDir, "tokensvc.db"): 0o640,
		}},
		{"TOKENSVC_MASTER_KEY_FILE", map[string]string{"TOKENSVC_DATA_DIR": filepath.Join(root, "data2"), "TOKENSVC_MASTER_KEY_FILE": keyFile},
			map[string]os.FileMode{keyFile: 0o644}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := start(t, tc.env)
			if strings.Contains(svc.stderr.String(), "level=WARN msg=\"secrets on disk") {
				t.Errorf("warned about permissions that are tight:\n%s", svc.stderr)
			}
			if err := svc.stop(); err != nil {
				t.Fatal(err)
			}
			for path, mode := range tc.loosen {
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
			}
			svc = start(t, tc.env)
			log := svc.stderr.String()
			if err := svc.stop(); err != nil {
				t.Fatal(err)
			}
			out, err := runDoctor(t, tc.env)
			if err == nil {
				t.Errorf("doctor passed with loose permissions:\n%s", out)
			}
			for path := range tc.loosen {
				if !strings.Contains(log, "level=WARN") || !strings.Contains(log, path) {
					t.Errorf("no WARN line at start naming %s:\n%s", path, log)
				}
				if !strings.Contains(out, "✗ permissions: "+path) {
					t.Errorf("doctor has no ✗ for %s:\n%s", path, out)
				}
			}
		})
	}
}
