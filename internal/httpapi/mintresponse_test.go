package httpapi

import (
	"net/http/httptest"
	"testing"
	"time"
)

// TestWriteMintAsWriteJSON: the mint answer is the same bytes, status and
// content type whichever writer wrote it.
func TestWriteMintAsWriteJSON(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		resp mintResponse
	}{
		{"plain", mintResponse{Token: "eyJh.eyJz.c2ln-_", TokenType: "JWT", KID: "Zm9v-_bar", Alg: "RS256", ExpiresAt: at, ExpiresIn: 3600}},
		{"fraction of a second and a zone", mintResponse{Token: "a.b.c", TokenType: "JWT", KID: "k", Alg: "RS512", ExpiresAt: at.Add(123456789).In(time.FixedZone("x", 3600)), ExpiresIn: 1}},
		{"characters to escape", mintResponse{Token: "<a>&\"b\\\u2028é\x01", TokenType: "JWT", KID: "k", Alg: "RS256", ExpiresAt: at}},
		{"year encoding/json refuses", mintResponse{Token: "a", TokenType: "JWT", KID: "k", Alg: "RS256", ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{"zero", mintResponse{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want, got := httptest.NewRecorder(), httptest.NewRecorder()
			writeJSON(want, 200, tc.resp)
			writeMint(got, tc.resp)
			if got.Code != want.Code || got.Body.String() != want.Body.String() || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") {
				t.Errorf("writeMint: %d %q %s\nwriteJSON: %d %q %s", got.Code, got.Header().Get("Content-Type"), got.Body,
					want.Code, want.Header().Get("Content-Type"), want.Body)
			}
		})
	}
}
