package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/embedded"
)

// TestMasterKeyFileCreatedOnce: processes starting at once on a bare data
// dir create one master key file between them, and every start after reads
// that key.
func TestMasterKeyFileCreatedOnce(t *testing.T) {
	dir := t.TempDir()
	path := MasterKeyFile(dir)
	created := make([]bool, 8)
	var wg sync.WaitGroup
	for i := range created {
		wg.Go(func() {
			var err error
			if created[i], err = createMasterKeyFile(path); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := strings.Count(fmt.Sprint(created), "true"); n != 1 {
		t.Fatalf("%d starts created the master key file, want 1", n)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Fatalf("master key file: %v; want mode 0600", err)
	}
	first, err := ReadMasterKey(path)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	again, err := embeddedMasterKey(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || !bytes.Equal(again, first) {
		t.Fatalf("a later start read %x, %v; want the key created first", again, err)
	}
	if strings.Contains(logs.String(), "generated a master key") {
		t.Errorf("a later start says it generated the master key:\n%s", logs.String())
	}
}

// TestOpenExistingCreatesNothing: the break-glass refuses a data dir that
// holds no store, or a store without its master key, and leaves it as it
// found it.
func TestOpenExistingCreatesNothing(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	cfg := config.Config{DataDir: dir}
	if _, err := OpenExisting(t.Context(), cfg, log); err == nil || !strings.Contains(err.Error(), "no embedded store at") {
		t.Fatalf("OpenExisting on an empty data dir: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("OpenExisting on an empty data dir created %v", entries)
	}

	st, err := Open(t.Context(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if err := os.Remove(MasterKeyFile(dir)); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenExisting(t.Context(), cfg, log); err == nil || !strings.Contains(err.Error(), "no master key") {
		t.Fatalf("OpenExisting without the master key: %v", err)
	}
	if _, err := os.Stat(MasterKeyFile(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenExisting generated a master key: %v", err)
	}
}

// TestOpenReadOnlyTellsWhyNot: the read-only open says there is no store
// yet before the first start, and that a running tokensvc holds it.
func TestOpenReadOnlyTellsWhyNot(t *testing.T) {
	cfg := config.Config{DataDir: t.TempDir()}
	if _, err := OpenReadOnly(t.Context(), cfg); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("before the first start: %v, want fs.ErrNotExist", err)
	}
	st, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Kind != "embedded" || len(st.MasterKey) == 0 {
		t.Fatalf("Open: kind %q, master key of %d bytes", st.Kind, len(st.MasterKey))
	}
	if _, err := OpenReadOnly(t.Context(), cfg); !errors.Is(err, embedded.ErrInUse) {
		t.Fatalf("while open: %v, want embedded.ErrInUse", err)
	}
}

// TestLoosePermissionsNamesEachPath: every secret path group or others may
// access is named with the chmod that fixes it; paths not there yet and
// tight ones are not.
func TestLoosePermissionsNamesEachPath(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	cfg := config.Config{DataDir: dir}
	if loose := LoosePermissions(cfg); len(loose) != 0 {
		t.Fatalf("before the first start: %q", loose)
	}
	st, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if loose := LoosePermissions(cfg); len(loose) != 0 {
		t.Fatalf("as Open left them: %q", loose)
	}
	if err := os.Chmod(MasterKeyFile(dir), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	loose := LoosePermissions(cfg)
	want := []string{"chmod 700 " + dir, "chmod 600 " + MasterKeyFile(dir)}
	if len(loose) != len(want) {
		t.Fatalf("got %q, want lines ending %q", loose, want)
	}
	for i, w := range want {
		if !strings.HasSuffix(loose[i], w+")") {
			t.Errorf("line %d = %q, want it to end with %q", i, loose[i], w)
		}
	}
}

// TestFirstStartsAtOnceReadOneMasterKey: processes starting together on a
// bare data dir all read the one master key the first of them made. A
// file created empty and written afterwards was seen empty by the others
// ("master key is 0 bytes, want 32").
func TestFirstStartsAtOnceReadOneMasterKey(t *testing.T) {
	for round := range 20 {
		dir := t.TempDir()
		got := make([][]byte, 8)
		errs := make([]error, len(got))
		var wg sync.WaitGroup
		for i := range got {
			wg.Go(func() {
				got[i], errs[i] = embeddedMasterKey(dir, slog.New(slog.DiscardHandler))
			})
		}
		wg.Wait()
		for i := range got {
			if errs[i] != nil || !bytes.Equal(got[i], got[0]) {
				t.Fatalf("round %d: start %d read %x, %v; want the one key %x", round, i, got[i], errs[i], got[0])
			}
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("round %d: the data dir holds %d files, want the master key alone", round, len(entries))
		}
	}
}
