package transfer

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/keys"
)

func TestReadRefusesWhatItCannotTrust(t *testing.T) {
	var good bytes.Buffer
	k, _, err := apikey.New("ops", apikey.ScopeAdmin, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(&good, Header{ExportedAt: time.Now(), MasterKeyID: "abcd", Source: "embedded"}, Contents{APIKeys: []apikey.Key{k}}); err != nil {
		t.Fatal(err)
	}
	if _, c, err := Read(bytes.NewReader(good.Bytes())); err != nil || len(c.APIKeys) != 1 || c.APIKeys[0].Hash != k.Hash {
		t.Fatalf("Read of Write's file: %+v, %v", c, err)
	}
	lines := strings.SplitAfter(good.String(), "\n")
	tests := []struct {
		name, file, want string
	}{
		{"empty", "", "empty"},
		{"not an export", `{"hello":1}` + "\n", "not a tokensvc-export file"},
		{"newer version", strings.Replace(lines[0], `"version":1`, `"version":2`, 1) + lines[1] + lines[2], "version 2"},
		{"unknown kind", lines[0] + `{"kind":"console_session"}` + "\n" + lines[2], `unknown kind "console_session"`},
		{"unknown field", lines[0] + strings.Replace(lines[1], `{"kind":"api_key",`, `{"kind":"api_key","owner":"ops",`, 1) + lines[2], "unknown field"},
		{"cut short", lines[0] + lines[1], "cut short"},
		{"miscounted", lines[0] + lines[1] + lines[1] + lines[2], "counts 1 records, the file holds 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := Read(strings.NewReader(tt.file)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read: %v; want an error saying %q", err, tt.want)
			}
		})
	}
}

// TestWrappedMasterKeyRoundTrip: a wrapped master key goes through the
// file as it was, still wrapped, and counts as a record.
func TestWrappedMasterKeyRoundTrip(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	w := keys.WrappedMasterKey{ID: "0123456789abcdef", Wrapped: []byte("wrapped by a KMS"), KMSHint: "awskms://alias/tokensvc",
		CreatedAt: now.Add(-time.Hour), RetiredAt: now}
	var file bytes.Buffer
	if err := Write(&file, Header{ExportedAt: now, MasterKeyID: w.ID, Source: "postgres"}, Contents{WrappedMasterKeys: []keys.WrappedMasterKey{w}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(file.String(), `{"kind":"wrapped_master_key","id":"0123456789abcdef","wrapped":"d3JhcHBlZCBieSBhIEtNUw==","kms_hint":"awskms://alias/tokensvc",`) ||
		!strings.Contains(file.String(), `{"kind":"end","records":1}`) {
		t.Fatalf("the file:\n%s", file.String())
	}
	_, c, err := Read(&file)
	if err != nil || !reflect.DeepEqual(c.WrappedMasterKeys, []keys.WrappedMasterKey{w}) {
		t.Fatalf("Read: %+v, %v; want %+v", c.WrappedMasterKeys, err, w)
	}
}
