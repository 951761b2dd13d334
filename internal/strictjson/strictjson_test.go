package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name string
		json string
		opts Options
		kind Kind
		key  string
	}{
		{"empty", "", Options{}, Empty, ""},
		{"white space", " \n\t\r", Options{}, Empty, ""},
		{"not JSON", "user_id=a", Options{}, Syntax, ""},
		{"unclosed", `{"a":1`, Options{}, Syntax, ""},
		{"unclosed string", `{"a":"x`, Options{}, Syntax, ""},
		{"trailing comma", `{"a":1,}`, Options{}, Syntax, ""},
		{"bad escape", `"\x"`, Options{}, Syntax, ""},
		{"short unicode escape", `"\u12"`, Options{}, Syntax, ""},
		{"control character", "\"a\x01\"", Options{}, Syntax, ""},
		{"leading zero", `[01]`, Options{}, Syntax, ""},
		{"bare minus", `-`, Options{}, Syntax, ""},
		{"fraction without digits", `1.`, Options{}, Syntax, ""},
		{"exponent without digits", `1e+`, Options{}, Syntax, ""},
		{"misspelt literal", `tru`, Options{}, Syntax, ""},
		{"not UTF-8", "\"a\xffb\"", Options{}, InvalidUTF8, ""},
		{"encoded surrogate", "\"\xed\xa0\x80\"", Options{}, InvalidUTF8, ""},
		{"stray brace", `{}}`, Options{}, TrailingData, ""},
		{"stray bracket", `{}]`, Options{}, TrailingData, ""},
		{"second value", `{} {}`, Options{}, TrailingData, ""},
		{"duplicate key", `{"a":1,"a":2}`, Options{}, DuplicateKey, "a"},
		{"duplicate key, escaped", `{"a":1,"\u0061":2}`, Options{}, DuplicateKey, "a"},
		{"duplicate key, nested", `{"x":[{"a":1,"b":2,"a":3}]}`, Options{}, DuplicateKey, "a"},
		{"duplicate key past the batch", `{` + manyKeys(40) + `,"k7":0}`, Options{}, DuplicateKey, "k7"},
		{"folded duplicate", `{"user_id":1,"USER_ID":2}`, Options{FoldTopLevelKeys: true}, DuplicateKey, "USER_ID"},
		{"folded duplicate, long s", `{"user_id":1,"uſer_id":2}`, Options{FoldTopLevelKeys: true}, DuplicateKey, "uſer_id"},
		{"folded duplicate, Kelvin sign", `{"kid":1,"\u212Aid":2}`, Options{FoldTopLevelKeys: true}, DuplicateKey, "\u212Aid"},
		{"folded duplicate past the batch", `{` + manyKeys(40) + `,"K7":0}`, Options{FoldTopLevelKeys: true}, DuplicateKey, "K7"},
		{"lone high surrogate", `"\ud800"`, Options{}, LoneSurrogate, ""},
		{"lone low surrogate", `"\udfff"`, Options{}, LoneSurrogate, ""},
		{"high then not low", `"\ud800\u0041"`, Options{}, LoneSurrogate, ""},
		{"high at the end", `"\udbff`, Options{}, LoneSurrogate, ""},
		{"pair reversed", `"\udc00\ud800"`, Options{}, LoneSurrogate, ""},
		{"lone surrogate in a key", `{"a\ud800":1}`, Options{}, LoneSurrogate, ""},
		{"too deep", strings.Repeat("[", 4) + strings.Repeat("]", 4), Options{MaxDepth: 3}, TooDeep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check([]byte(tt.json), tt.opts)
			var e *Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Key != tt.key || e.Error() == "" {
				t.Fatalf("Check(%.60q) = %v (%+v), want kind %d key %q", tt.json, err, e, tt.kind, tt.key)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"k` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `":0`)
	}
	return strings.ReplaceAll(b.String(), `"k0`, `"k`)
}

func TestCheckAccepts(t *testing.T) {
	for _, s := range []string{
		`{}`, `[]`, `0`, `-0.5e+10`, `"x"`, `null`, `true`, " {\n} ",
		`{"a":1,"A":2}`, `{"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]}`,
		`{"user_id":"u","claims":{"Plan":1,"plan":2}}`,
		`"\ud83d\ude00 \u00e9 \/ \b\f\n\r\t \" \\"`, `{"😀":1,"\ud83d\ude00x":2}`,
		`{` + manyKeys(40) + `}`,
		strings.Repeat("[", 3) + strings.Repeat("]", 3),
	} {
		opts := Options{MaxDepth: 3, FoldTopLevelKeys: !strings.Contains(s, `"A"`)}
		if err := Check([]byte(s), opts); err != nil {
			t.Errorf("Check(%.60q) = %v", s, err)
		}
	}
}

// FuzzCheck: what Check accepts is valid JSON, what it refuses as such is
// not, and its folding of keys is bytes.EqualFold, the equality by which
// encoding/json matches struct fields.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, `[1,"\ud800"]`, `{}}`, `{"ſ":1,"s":2}`, "", `"\u00e9"`} {
		f.Add(s, "k", "K")
	}
	f.Fuzz(func(t *testing.T, s, k1, k2 string) {
		err := Check([]byte(s), Options{})
		var e *Error
		switch {
		case err == nil && !json.Valid([]byte(s)):
			t.Fatalf("Check accepted invalid JSON %q", s)
		case errors.As(err, &e) && (e.Kind == Syntax || e.Kind == Empty) && json.Valid([]byte(s)):
			t.Fatalf("Check(%q) = %v, but it is valid JSON", s, err)
		}
		if !utf8.ValidString(k1) || !utf8.ValidString(k2) {
			return
		}
		folded := bytes.Equal(appendFolded(nil, []byte(k1)), appendFolded(nil, []byte(k2)))
		if folded != bytes.EqualFold([]byte(k1), []byte(k2)) {
			t.Fatalf("fold(%q) == fold(%q) is %v; bytes.EqualFold says %v", k1, k2, folded, !folded)
		}
	})
}
