package tokenclient_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// TestBackupStreamsTheAnswer: the body is copied whole to the writer, a
// body shorter than its Content-Length is an error, and a refusal is an
// *Error with the service's words.
func TestBackupStreamsTheAnswer(t *testing.T) {
	big := bytes.Repeat([]byte{0xbb}, 3<<20) // more than a JSON answer may be
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer whole":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(big)
		case "Bearer cut":
			w.Header().Set("Content-Length", "1000")
			w.Write(big[:10])
		default:
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"type":"about:blank","title":"Backup not available on PostgreSQL","status":409,"detail":"use pg_dump"}`))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	var got bytes.Buffer
	if err := (&tokenclient.Admin{URL: srv.URL, APIKey: "whole"}).Backup(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), big) {
		t.Fatalf("Backup: %d bytes, %v; want %d bytes", got.Len(), err, len(big))
	}
	if err := (&tokenclient.Admin{URL: srv.URL, APIKey: "cut"}).Backup(ctx, &bytes.Buffer{}); err == nil {
		t.Error("a backup cut short was taken for whole")
	}
	var e *tokenclient.Error
	err := (&tokenclient.Admin{URL: srv.URL, APIKey: "pg"}).Backup(ctx, &bytes.Buffer{})
	if !errors.As(err, &e) || e.Status != http.StatusConflict || !strings.Contains(e.Detail, "pg_dump") {
		t.Errorf("Backup on PostgreSQL: %v", err)
	}
}
