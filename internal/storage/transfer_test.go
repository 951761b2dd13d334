package storage

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/pgtest"
	"github.com/tokensvc/tokensvc/internal/storetest"
	"github.com/tokensvc/tokensvc/internal/transfer"
)

func newMasterKey(t *testing.T) []byte {
	t.Helper()
	enc, err := keys.NewMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.ParseMasterKey(enc)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// contentsOf reads what the store cfg names holds.
func contentsOf(t *testing.T, cfg config.Config) transfer.Contents {
	t.Helper()
	st, err := OpenExisting(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.Store.(transferer).Contents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// withoutImportEntry checks that the last audit entry records the import,
// and returns c without it.
func withoutImportEntry(t *testing.T, c transfer.Contents) transfer.Contents {
	t.Helper()
	if n := len(c.Audit); n == 0 || c.Audit[n-1].Action != transfer.ActionImport || c.Audit[n-1].Actor.Kind != "offline" {
		t.Fatalf("the imported store's audit log does not end with an offline %s: %+v", transfer.ActionImport, c.Audit)
	}
	c.Audit = c.Audit[:len(c.Audit)-1]
	return c
}

// TestExportImportAcrossStores moves a populated embedded store to
// PostgreSQL and back through export files, and compares each store's
// contents with the source's live ones: the sealed keys, API key hashes,
// live sessions with every refresh token, audit log and undelivered events.
func TestExportImportAcrossStores(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	master := newMasterKey(t)
	sealer, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	src := config.Config{DataDir: t.TempDir(), MasterKey: master}
	st, err := Open(ctx, src, log)
	if err != nil {
		t.Fatal(err)
	}
	want := storetest.Populate(t, st.Store.(storetest.Store), sealer)
	st.Close()
	now := time.Now()
	want = want.Live(now)
	if len(want.Sessions) != 1 {
		t.Fatalf("Live kept %d sessions, want the one not ended", len(want.Sessions))
	}

	var file bytes.Buffer
	if _, err := Export(ctx, src, "", &file, now, log); err != nil {
		t.Fatal(err)
	}
	pg := config.Config{DatabaseURL: pgtest.NewDatabase(t), MasterKey: master, StoreTimeout: 5 * time.Second}
	exported := file.Bytes()
	if _, _, err := Import(ctx, pg, bytes.NewReader(exported), now, log); err != nil {
		t.Fatal(err)
	}
	storetest.SameContents(t, "PostgreSQL after the import", withoutImportEntry(t, contentsOf(t, pg)), want)

	if _, _, err := Import(ctx, pg, bytes.NewReader(exported), now, log); err == nil || !strings.Contains(err.Error(), "import only into an empty store") {
		t.Errorf("a second import into the same database: %v; want refused as not empty", err)
	}

	file.Reset()
	if _, err := Export(ctx, pg, "", &file, now, log); err != nil {
		t.Fatal(err)
	}
	back := config.Config{DataDir: t.TempDir(), MasterKey: master}
	if _, _, err := Import(ctx, back, &file, now, log); err != nil {
		t.Fatal(err)
	}
	got := withoutImportEntry(t, withoutImportEntry(t, contentsOf(t, back)))
	storetest.SameContents(t, "the embedded store after the way back", got, want)
}

// populatedExport is the export of an embedded store storetest.Populate
// filled, with the master key its keys are sealed under.
func populatedExport(t *testing.T) ([]byte, *bytes.Buffer) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	master := newMasterKey(t)
	sealer, err := keys.NewSealer(master)
	if err != nil {
		t.Fatal(err)
	}
	src := config.Config{DataDir: t.TempDir(), MasterKey: master}
	st, err := Open(t.Context(), src, log)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, st.Store.(storetest.Store), sealer)
	st.Close()
	var file bytes.Buffer
	if _, err := Export(t.Context(), src, "", &file, time.Now(), log); err != nil {
		t.Fatal(err)
	}
	return master, &file
}

// TestImportRefusesAnotherMasterKey: a target configured with another
// master key than the export's gets nothing, and the message says to
// configure the same master key.
func TestImportRefusesAnotherMasterKey(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	_, file := populatedExport(t)
	for name, cfg := range map[string]config.Config{
		"embedded": {DataDir: t.TempDir(), MasterKey: newMasterKey(t)},
		"postgres": {DatabaseURL: pgtest.NewDatabase(t), MasterKey: newMasterKey(t), StoreTimeout: 5 * time.Second},
	} {
		_, _, err := Import(ctx, cfg, bytes.NewReader(file.Bytes()), time.Now(), log)
		if !errors.Is(err, keys.ErrWrongMasterKey) || !strings.Contains(err.Error(), "configure the same master key") {
			t.Errorf("%s: import under another master key: %v", name, err)
			continue
		}
		if c := contentsOf(t, cfg); c.Count() != 0 {
			t.Errorf("%s: a refused import wrote %d records", name, c.Count())
		}
	}
}

// TestImportRefusesACutFile: a file missing its end line imports nothing.
func TestImportRefusesACutFile(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	master, file := populatedExport(t)
	lines := strings.SplitAfter(strings.TrimSuffix(file.String(), "\n"), "\n")
	cut := strings.Join(lines[:len(lines)-1], "")
	dst := config.Config{DataDir: t.TempDir(), MasterKey: master}
	if _, _, err := Import(ctx, dst, strings.NewReader(cut), time.Now(), log); err == nil || !strings.Contains(err.Error(), "cut short") {
		t.Fatalf("import of a file without its end line: %v", err)
	}
}
