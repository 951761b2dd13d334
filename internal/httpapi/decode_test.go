package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
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

// TestDecodeRefusesKeysJSONFoldsTogether: encoding/json matches request
// fields by simple case folding, the last key winning, so "uſer_id" (long
// s) after "user_id" would name another user than a reader that compares
// keys exactly. Both are one key and the body is refused.
func TestDecodeRefusesKeysJSONFoldsTogether(t *testing.T) {
	for name, body := range map[string]string{
		"long s":             `{"user_id":"alice","uſer_id":"bob"}`,
		"long s, escaped":    `{"user_id":"alice","u\u017fer_id":"bob"}`,
		"long s, first":      `{"uſer_id":"bob","user_id":"alice"}`,
		"upper case long s":  `{"user_id":"alice","UſER_ID":"bob"}`,
		"ttl, long s":        `{"user_id":"alice","ttl_seconds":60,"ttl_ſeconds":86400}`,
		"claims, upper case": `{"user_id":"alice","claims":{},"CLAIMS":{"plan":"pro"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := decodeBody(body)
			var p *problem
			if !errors.As(err, &p) || p.Status != 400 || !strings.Contains(p.Detail, "is given more than once") {
				t.Fatalf("decode(%s) = %v, want 400 saying a key is given more than once", body, err)
			}
		})
	}
}

// TestDecodeRefusesLoneSurrogates: encoding/json turns an escaped lone
// UTF-16 surrogate into U+FFFD, so "u\ud800" and "u\udfff" would be one
// user; such strings have no meaning of their own and are refused.
func TestDecodeRefusesLoneSurrogates(t *testing.T) {
	for name, body := range map[string]string{
		"high":               `{"user_id":"u\ud800"}`,
		"low":                `{"user_id":"u\udfff"}`,
		"high then letter":   `{"user_id":"u\ud800\u0041"}`,
		"pair reversed":      `{"user_id":"\udc00\ud800"}`,
		"in a claim name":    `{"user_id":"u","claims":{"x\uDBFF":1}}`,
		"in a nested string": `{"user_id":"u","claims":{"x":["\ud83d"]}}`,
	} {
		t.Run(name, func(t *testing.T) {
			err := decodeBody(body)
			var p *problem
			if !errors.As(err, &p) || p.Status != 400 || !strings.Contains(p.Detail, "surrogate") {
				t.Fatalf("decode(%s) = %v, want 400 naming the lone surrogate", body, err)
			}
		})
	}
	var req mintRequest
	r := httptest.NewRequest("POST", "/v1/tokens", strings.NewReader(`{"user_id":"u\ud83d\ude00"}`))
	r.Header.Set("Content-Type", "application/json")
	if err := decodeJSON(r, &req); err != nil || *req.UserID != "u😀" {
		t.Fatalf("an escaped surrogate pair is one character: %v", err)
	}
}

// TestDecodeTypeErrorsNameFieldAndType: a value of the wrong JSON type is
// refused with the field's name and the type it must be. ttl_seconds as a
// string used to be accepted, and true was said to need to be a string.
func TestDecodeTypeErrorsNameFieldAndType(t *testing.T) {
	tests := []struct {
		body, field, detail string
	}{
		{`{"user_id":"u","ttl_seconds":"60"}`, "ttl_seconds", "ttl_seconds must be a number, not a string"},
		{`{"user_id":"u","ttl_seconds":true}`, "ttl_seconds", "ttl_seconds must be a number, not a boolean"},
		{`{"user_id":"u","ttl_seconds":{}}`, "ttl_seconds", "ttl_seconds must be a number, not an object"},
		{`{"user_id":"u","ttl_seconds":[60]}`, "ttl_seconds", "ttl_seconds must be a number, not an array"},
		{`{"user_id":true}`, "user_id", "user_id must be a string, not a boolean"},
		{`{"user_id":42}`, "user_id", "user_id must be a string, not a number"},
		{`{"user_id":"u","claims":"x"}`, "claims", "claims must be an object, not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			err := decodeBody(tt.body)
			var p *problem
			if !errors.As(err, &p) || p.Status != 400 || p.Field != tt.field || p.Detail != tt.detail {
				t.Fatalf("decode(%s) = %+v, want 400 on %s: %q", tt.body, err, tt.field, tt.detail)
			}
		})
	}
	var req mintRequest
	r := httptest.NewRequest("POST", "/v1/tokens", strings.NewReader(`{"user_id":"u","ttl_seconds":60}`))
	r.Header.Set("Content-Type", "application/json")
	if err := decodeJSON(r, &req); err != nil || req.TTLSeconds == nil || string(*req.TTLSeconds) != "60" {
		t.Fatalf("ttl_seconds 60: %v", err)
	}
	r = httptest.NewRequest("POST", "/v1/tokens", strings.NewReader(`{"user_id":"u","ttl_seconds":null}`))
	r.Header.Set("Content-Type", "application/json")
	if err := decodeJSON(r, &req); err != nil || req.TTLSeconds != nil {
		t.Fatalf("ttl_seconds null: %v", err)
	}
}

// TestReadBodyAsMaxBytesReader: readBody accepts, refuses and fails where
// io.ReadAll over http.MaxBytesReader does, with the same bytes.
func TestReadBodyAsMaxBytesReader(t *testing.T) {
	broken := errors.New("connection reset")
	for _, size := range []int{0, 1, 1023, 1024, 1025, MaxBodyBytes - 1, MaxBodyBytes, MaxBodyBytes + 1, 100 << 10} {
		body := strings.Repeat("x", size)
		readers := map[string]func() io.Reader{
			"whole":      func() io.Reader { return strings.NewReader(body) },
			"byte":       func() io.Reader { return iotest.OneByteReader(strings.NewReader(body)) },
			"data+EOF":   func() io.Reader { return iotest.DataErrReader(strings.NewReader(body)) },
			"then error": func() io.Reader { return io.MultiReader(strings.NewReader(body), iotest.ErrReader(broken)) },
		}
		for name, reader := range readers {
			want, wantErr := io.ReadAll(http.MaxBytesReader(nil, io.NopCloser(reader()), MaxBodyBytes))
			got, err := readBody(reader(), make([]byte, 0, 16))
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(wantErr, &tooBig):
				if !errors.Is(err, errBodyTooLarge) {
					t.Errorf("%d bytes, %s: err = %v, want too large", size, name, err)
				}
			case wantErr != nil:
				if !errors.Is(err, broken) {
					t.Errorf("%d bytes, %s: err = %v, want %v", size, name, err, wantErr)
				}
			case err != nil || string(got) != string(want):
				t.Errorf("%d bytes, %s: read %d bytes, %v; want %d bytes", size, name, len(got), err, len(want))
			}
		}
	}
}

func TestJSONContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "Application/JSON": true,
		"application/json;": true, "": false, "text/plain": false, "application/jsonx": false, "application/json; charset": false,
	} {
		mt, _, err := mime.ParseMediaType(ct)
		if parsed := err == nil && mt == "application/json"; parsed != want {
			t.Fatalf("case %q: mime says %v, the table %v", ct, parsed, want)
		}
		if got := jsonContentType(ct); got != want {
			t.Errorf("jsonContentType(%q) = %v, want %v", ct, got, want)
		}
	}
}
