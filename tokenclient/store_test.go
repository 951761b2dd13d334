package tokenclient_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

func TestFileStore(t *testing.T) {
	dir := t.TempDir()
	fs := tokenclient.FileStore{Path: filepath.Join(dir, "session.json")}
	if s, err := fs.Load(); s != nil || err != nil {
		t.Fatalf("Load before Save = %v, %v; want nothing", s, err)
	}
	want := tokenclient.Session{SessionID: "ses_1", UserID: "u", RefreshToken: "tkr_x", Token: "eyJ", ExpiresAt: time.Unix(1800000000, 0).UTC()}
	if err := fs.Save(want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(fs.Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("session file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	got, err := fs.Load()
	if err != nil || *got != want {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only the session (no temporary left)", len(entries))
	}
	if err := fs.Clear(); err != nil {
		t.Fatal(err)
	}
	if s, _ := fs.Load(); s != nil || fs.Clear() != nil {
		t.Error("Clear did not forget the session, or a second Clear failed")
	}
	if err := os.WriteFile(fs.Path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Load(); err == nil {
		t.Error("a corrupt session file loaded without error")
	}
}
