package issuer

import (
	"encoding/json"
	"strings"
	"testing"
)

// jsonStrings are user ids and claim names that exercise every escape
// encoding/json makes.
var jsonStrings = []string{
	"", "user-42", "a@b.example", "ünïcødé 👤", `say "hi"`, `back\slash`, "<script>&amp;</script>",
	"line\u2028sep\u2029para", "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f", "\xff", "a\xc3", "\xed\xa0\x80",
	"\ufffd", "\u2027\u202a", "日本語", strings.Repeat("x", 300), "tab\tend",
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range jsonStrings {
		checkAppendJSONString(t, s)
	}
}

// FuzzAppendJSONString holds appendJSONString to encoding/json's bytes for
// any string, valid UTF-8 or not.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s)
	}
	f.Fuzz(checkAppendJSONString)
}

func checkAppendJSONString(t *testing.T, s string) {
	t.Helper()
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendJSONString([]byte("prefix"), s); string(got) != "prefix"+string(want) {
		t.Errorf("appendJSONString(%q) = %s, want %s", s, got[len("prefix"):], want)
	}
}
