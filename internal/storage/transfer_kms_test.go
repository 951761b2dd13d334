package storage

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/storetest"
)

// populateKMS starts a new embedded store under a new KMS key URL, fills
// it, and returns its config and the id of the master key the KMS key
// unwraps.
func populateKMS(t *testing.T) (config.Config, string) {
	t.Helper()
	cfg := stores[0].cfg(t)
	cfg.MasterKeyURL = kmsKeyURL(t)
	st, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := st.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	storetest.Populate(t, st.Store.(storetest.Store), sealer)
	return cfg, st.MasterKeyID()
}

// exportOf is the export file of the store cfg names.
func exportOf(t *testing.T, cfg config.Config) []byte {
	t.Helper()
	var file bytes.Buffer
	if _, err := Export(t.Context(), cfg, "", &file, time.Now(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	return file.Bytes()
}

// opensUnder checks that two starts of the store cfg names both unwrap the
// master key id and open every key it holds.
func opensUnder(t *testing.T, what string, cfg config.Config, id string) {
	t.Helper()
	for i := range 2 {
		st, err := Open(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("%s: start %d after the import: %v", what, i+1, err)
		}
		recs, err := st.SigningKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		sealer, _ := st.Sealer()
		unreadable, err := keys.CheckMasterKey(recs, sealer)
		got := st.MasterKeyID()
		st.Close()
		if got != id || err != nil || len(unreadable) != 0 || len(recs) == 0 {
			t.Fatalf("%s: start %d seals under master key %s (want %s); CheckMasterKey of its %d keys: %v, %d unreadable",
				what, i+1, got, id, len(recs), err, len(unreadable))
		}
	}
}

// TestExportImportMovesKMSMasterKey: a store whose master key a KMS wraps
// (TOKENSVC_MASTER_KEY_URL) moves to the other store kind and back through
// export files, the target configured with the same KMS key URL: each
// import succeeds, and every start of the target unwraps the source's
// master key and opens its keys.
func TestExportImportMovesKMSMasterKey(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	src, id := populateKMS(t)
	url := src.MasterKeyURL

	pg := stores[1].cfg(t)
	pg.MasterKeyURL = url
	if _, _, err := Import(ctx, pg, bytes.NewReader(exportOf(t, src)), time.Now(), log); err != nil {
		t.Fatalf("import into PostgreSQL under the same KMS key: %v", err)
	}
	opensUnder(t, "PostgreSQL", pg, id)
	_, want := snapshot(t, src)
	if _, got := snapshot(t, pg); !reflect.DeepEqual(got, want) || !slices.ContainsFunc(got, func(w keys.WrappedMasterKey) bool { return w.ID == id }) {
		t.Errorf("PostgreSQL holds wrapped master keys %+v; want the source's, %+v, %s among them", got, want, id)
	}

	back := stores[0].cfg(t)
	back.MasterKeyURL = url
	if _, _, err := Import(ctx, back, bytes.NewReader(exportOf(t, pg)), time.Now(), log); err != nil {
		t.Fatalf("import back into an embedded store under the same KMS key: %v", err)
	}
	opensUnder(t, "the embedded store on the way back", back, id)
}

// TestRefusedImportWritesNoMasterKey: an import refused for whatever reason
// leaves the target as it was: no record, and no wrapped master key either.
func TestRefusedImportWritesNoMasterKey(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	kmsSrc, _ := populateKMS(t)
	kmsFile := exportOf(t, kmsSrc)
	_, plainFile := populatedExport(t)
	cut := kmsFile[:bytes.LastIndexByte(kmsFile[:len(kmsFile)-1], '\n')+1] // without its end line

	tests := []struct {
		name string
		file []byte
		url  string
		want string
	}{
		{"a KMS store's file under another KMS key", kmsFile, kmsKeyURL(t), "nothing was written"},
		{"a plain master key's file into a KMS-configured target", plainFile.Bytes(), kmsSrc.MasterKeyURL, "configure the same master key"},
		{"a KMS store's file cut short", cut, kmsSrc.MasterKeyURL, "cut short"},
	}
	for _, tt := range tests {
		for _, s := range stores {
			t.Run(tt.name+"/"+s.name, func(t *testing.T) {
				cfg := s.cfg(t)
				cfg.MasterKeyURL = tt.url
				if _, _, err := Import(ctx, cfg, bytes.NewReader(tt.file), time.Now(), log); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("import: %v; want refused, saying %q", err, tt.want)
				}
				st, err := OpenReadOnly(ctx, cfg)
				if err != nil {
					return // nothing was even created
				}
				defer st.Close()
				wks, err := st.Store.(wrappedKeys).WrappedMasterKeys(ctx)
				if err != nil && !strings.Contains(err.Error(), "does not exist") {
					t.Fatal(err)
				}
				if len(wks) != 0 {
					t.Errorf("the refused import stored %d wrapped master keys: %+v", len(wks), wks)
				}
				if c, err := st.Store.(transferer).Contents(ctx); err == nil && c.Count() != 0 {
					t.Errorf("the refused import wrote %d records", c.Count())
				}
			})
		}
	}
}

// TestKMSStoreFromBackup: a serving embedded store is moved from its hot
// backup, which holds its wrapped master key: export --from-backup and
// restore find the master key by unwrapping it with the same KMS key URL.
func TestKMSStoreFromBackup(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	src, id := populateKMS(t)
	url := src.MasterKeyURL
	b, err := os.ReadFile(EmbeddedFile(src.DataDir)) // the store closed: as tokensvc backup writes it
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}

	var file bytes.Buffer
	if _, err := Export(ctx, config.Config{MasterKeyURL: url}, backup, &file, time.Now(), log); err != nil {
		t.Fatalf("export --from-backup under the KMS key: %v", err)
	}
	pg := stores[1].cfg(t)
	pg.MasterKeyURL = url
	if _, _, err := Import(ctx, pg, &file, time.Now(), log); err != nil {
		t.Fatalf("import of the backup's export: %v", err)
	}
	opensUnder(t, "PostgreSQL", pg, id)

	restored := stores[0].cfg(t)
	restored.MasterKeyURL = url
	if err := Restore(restored, backup, false); err != nil {
		t.Fatalf("restore under the KMS key: %v", err)
	}
	opensUnder(t, "the restored store", restored, id)

	other := stores[0].cfg(t)
	other.MasterKeyURL = kmsKeyURL(t)
	if err := Restore(other, backup, false); err == nil || !strings.Contains(err.Error(), "unwraps none of the backup's") {
		t.Errorf("restore under another KMS key: %v; want refused", err)
	}
}
