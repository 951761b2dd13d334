package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"github.com/tokensvc/tokensvc/internal/config"
)

// LoosePermissions returns one line for each file or directory holding
// secrets that group or others may access: the master key file
// (TOKENSVC_MASTER_KEY_FILE, or the embedded store's generated one), the
// data dir and the store file. The rule is simply "any permission bit for
// group or others" (mode & 077): the owner is the only one who needs them,
// and a sealed private key beside its master key, readable by another
// account, is a stolen signing key. Paths that do not exist yet are skipped:
// serve creates them owner-only.
func LoosePermissions(cfg config.Config) []string {
	if runtime.GOOS == "windows" {
		return nil // no Unix permission bits to read
	}
	var paths []string
	if cfg.MasterKeyFile != "" {
		paths = append(paths, cfg.MasterKeyFile)
	}
	if cfg.DatabaseURL == "" {
		paths = append(paths, cfg.DataDir, MasterKeyFile(cfg.DataDir), EmbeddedFile(cfg.DataDir))
	}
	var loose []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			loose = append(loose, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			want := os.FileMode(0o600)
			if fi.IsDir() {
				want = 0o700
			}
			loose = append(loose, fmt.Sprintf("%s is %v: group or others may access it; only tokensvc's user should (chmod %o %s)", p, perm, want, p))
		}
	}
	return loose
}
