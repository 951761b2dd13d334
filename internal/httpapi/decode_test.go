package httpapi

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func decodeBody(body string) error {
	r := httptest.NewRequest("POST", "/v1/tokens", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	var req mintRequest
	return decodeJSON(r, &req)
}

// TestDecodeRefuses lists the bad bodies a caller can send and what each
// must get: a 4xx problem naming what is wrong, never a 5xx.
func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		detail string
	}{
		{"empty", ``, 400, "empty"},
		{"not JSON", `user_id=alice`, 400, "not valid JSON"},
		{"array", `[{"user_id":"a"}]`, 400, "must be a JSON object"},
		{"stray bracket", `{}}`, 400, "exactly one JSON object"},
		{"trailing data", `{"user_id":"a"} {"user_id":"b"}`, 400, "exactly one JSON object"},
		{"unknown field", `{"user_id":"a","admin":true}`, 400, `unknown field "admin"`},
		{"duplicate key", `{"user_id":"alice","user_id":"mallory"}`, 400, `"user_id" is given more than once`},
		{"duplicate key, other case", `{"user_id":"alice","USER_ID":"mallory"}`, 400, "more than once"},
		{"duplicate key, escaped", `{"user_id":"alice","user_\u0069d":"mallory"}`, 400, "more than once"},
		{"duplicate claim", `{"user_id":"a","claims":{"plan":"free","plan":"pro"}}`, 400, `"plan" is given more than once`},
		{"deep nesting", `{"user_id":"a","claims":{"x":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}}`, 400, "more than 32 deep"},
		{"not UTF-8", "{\"user_id\":\"al\xffice\"}", 400, "not valid UTF-8"},
		{"wrong type", `{"user_id":42}`, 400, "user_id must be a string"},
		{"too big", `{"user_id":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, 413, "at most"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := decodeBody(tt.body)
			var p *problem
			if !errors.As(err, &p) {
				t.Fatalf("decode(%.40q) = %v, want a problem", tt.body, err)
			}
			if p.Status != tt.status || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("decode(%.40q) = %d %q, want %d and a detail with %q", tt.body, p.Status, p.Detail, tt.status, tt.detail)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	for _, body := range []string{
		`{"user_id":"alice"}`,
		`{"user_id":"alice","ttl_seconds":60,"claims":{"Plan":"pro","plan":"free","nested":{"plan":1}}}`,
		`{"user_id":"ålice","claims":{"a":[{"b":[1,2]},{"b":[3]}]}}`,
		"{\n  \"user_id\": \"alice\"\n}\n",
	} {
		if err := decodeBody(body); err != nil {
			t.Errorf("decode(%q) = %v, want nil", body, err)
		}
	}
}

// FuzzDecodeJSON: whatever the body, decoding returns nil or a 4xx
// problem, and accepts only valid JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"user_id":"alice"}`, `{"user_id":"a","ttl_seconds":60,"claims":{"plan":"pro"}}`,
		`{"user_id":"a","user_id":"b"}`, `{"claims":{"a":{"b":{"c":[[[]]]}}}}`, "{\"user_id\":\"\x00\"}",
		`{"ttl_seconds":1e400}`, `{"user_id":"\ud800"}`, `[]`, `{`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		err := decodeBody(body)
		if err == nil {
			if !json.Valid([]byte(body)) {
				t.Fatalf("accepted invalid JSON %q", body)
			}
			return
		}
		var p *problem
		if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 {
			t.Fatalf("decode(%q) = %v, want a 4xx problem", body, err)
		}
	})
}

// FuzzBearer: a credential is returned only from a Bearer header, and it
// is never empty nor holds a space.
func FuzzBearer(f *testing.F) {
	for _, s := range []string{"Bearer tks_abc", "bearer  tks_abc ", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer \t", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		cred, ok := bearer(header)
		if !ok {
			if cred != "" {
				t.Fatalf("bearer(%q) refused but returned %q", header, cred)
			}
			return
		}
		if cred == "" || strings.ContainsAny(cred, " \t") {
			t.Fatalf("bearer(%q) = %q", header, cred)
		}
		scheme, rest, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) != cred {
			t.Fatalf("bearer(%q) = %q, not the header's credential", header, cred)
		}
	})
}

func TestBearer(t *testing.T) {
	tests := []struct {
		header, cred string
		ok           bool
	}{
		{"Bearer tks_abc", "tks_abc", true},
		{"bearer tks_abc", "tks_abc", true},
		{"Bearer  tks_abc  ", "tks_abc", true},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearertks_abc", "", false},
	}
	for _, tt := range tests {
		cred, ok := bearer(tt.header)
		if cred != tt.cred || ok != tt.ok {
			t.Errorf("bearer(%q) = %q, %v; want %q, %v", tt.header, cred, ok, tt.cred, tt.ok)
		}
	}
}
