package storage

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

// TestSaveFileLeavesNothingBehind: a failed write leaves neither the file
// nor a temporary one, an existing file is kept without force, and the
// written file is 0600.
func TestSaveFileLeavesNothingBehind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "b.db")
	if err := SaveFile(path, false, func(w io.Writer) error {
		io.WriteString(w, "part")
		return errors.New("cut")
	}); err == nil {
		t.Fatal("a failed write succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed write left %v", entries)
	}
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	if err := SaveFile(path, false, write("one")); err != nil {
		t.Fatal(err)
	}
	if err := SaveFile(path, false, write("two")); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second write without force: %v", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "one" {
		t.Errorf("refused write changed the file to %q", b)
	}
	if err := SaveFile(path, true, write("two")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("written file: %v, want mode 0600", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the data dir holds %v, want the file alone", entries)
	}
}

// TestRestoreChecksTheBackupFirst: a file that is not a tokensvc store, or
// whose keys the data dir's master key does not open, is not put in place.
func TestRestoreChecksTheBackupFirst(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	notBolt := filepath.Join(dir, "notes.txt")
	os.WriteFile(notBolt, []byte(strings.Repeat("not a database\n", 1000)), 0o600)
	otherBolt := filepath.Join(dir, "other.db")
	db, err := bolt.Open(otherBolt, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("something_else")); return err })
	db.Close()

	// A store whose keys are sealed under a master key nobody configures.
	src := config.Config{DataDir: filepath.Join(dir, "src"), MasterKey: newMasterKey(t)}
	st, err := Open(t.Context(), src, log)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, st.Store.(storetest.Store), nil)
	st.Close()

	for name, tt := range map[string]struct {
		from string
		want string
	}{
		"not a database":       {notBolt, "invalid database"},
		"another bbolt file":   {otherBolt, "not a tokensvc embedded store"},
		"a missing file":       {filepath.Join(dir, "none.db"), "no such file"},
		"the database setting": {"", "TOKENSVC_DATABASE_URL"},
		"another master key":   {EmbeddedFile(src.DataDir), "do not open under this data dir's master key"},
		"no master key":        {EmbeddedFile(src.DataDir), "no master key"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := config.Config{DataDir: filepath.Join(t.TempDir(), "data"), MasterKey: newMasterKey(t)}
			if name == "no master key" {
				cfg.MasterKey = nil
			}
			if tt.from == "" {
				cfg.DatabaseURL = "postgres://unused"
			}
			err := Restore(cfg, tt.from, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Restore: %v; want an error saying %q", err, tt.want)
			}
			if _, err := os.Stat(EmbeddedFile(cfg.DataDir)); err == nil {
				t.Error("a refused restore put a store in place")
			}
		})
	}
}
