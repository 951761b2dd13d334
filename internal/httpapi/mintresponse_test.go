package httpapi

import (
	"net/http/httptest"
	"reflect"
	"testing"
	"time"
)

// TestWriteMintAsWriteJSON: the mint answer is the same bytes, status and
// headers whichever writer wrote it.
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
			want.Header().Set("Cache-Control", "no-store")
			writeJSON(want, 200, tc.resp)
			writeMint(got, tc.resp)
			if got.Code != want.Code || got.Body.String() != want.Body.String() || !reflect.DeepEqual(got.Header(), want.Header()) {
				t.Errorf("writeMint: %d %v %s\nwriteJSON: %d %v %s", got.Code, got.Header(), got.Body, want.Code, want.Header(), want.Body)
			}
		})
	}
}
