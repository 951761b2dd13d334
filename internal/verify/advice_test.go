package verify_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/verify"
)

// readmeTroubleshooting parses the rows of the README's "Troubleshooting by
// MoEngage error code" table: code (its backticks dropped), then the two
// text cells as written.
func readmeTroubleshooting(t *testing.T) []verify.Advice {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Troubleshooting by MoEngage error code\n")
	if !ok {
		t.Fatal(`README.md has no "## Troubleshooting by MoEngage error code" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows []verify.Advice
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue // prose, the header row, the separator
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), " | ")
		if len(cells) != 3 {
			t.Fatalf("README troubleshooting row has %d cells, want 3 (code | seen | fix): %s", len(cells), line)
		}
		rows = append(rows, verify.Advice{Code: strings.Trim(cells[0], "`"), Seen: cells[1], Fix: cells[2]})
	}
	if len(rows) == 0 {
		t.Fatal("the README's troubleshooting section has no table rows")
	}
	return rows
}

// TestReadmeTroubleshootingMatchesAdvice: the console shows the README's
// advice, so the README's table and verify's are the same rows, word for
// word and in order; editing one without the other fails here.
func TestReadmeTroubleshootingMatchesAdvice(t *testing.T) {
	readme, table := readmeTroubleshooting(t), verify.Troubleshooting()
	for i := range max(len(readme), len(table)) {
		var r, g verify.Advice
		if i < len(readme) {
			r = readme[i]
		}
		if i < len(table) {
			g = table[i]
		}
		if r != g {
			t.Errorf("troubleshooting row %d:\nREADME: %q\nverify: %q", i+1, r, g)
		}
	}
}

// TestAdviceTextIsCodeSpansOnly: a page renders Seen and Fix by showing
// backtick-quoted runs as code and everything else as text, which is
// faithful only while the text holds no other Markdown.
func TestAdviceTextIsCodeSpansOnly(t *testing.T) {
	for _, a := range verify.Troubleshooting() {
		for _, text := range []string{a.Seen, a.Fix} {
			runs := strings.Split(text, "`")
			if len(runs)%2 == 0 {
				t.Errorf("%s: unbalanced backticks in %q", a.Code, text)
			}
			for i := 0; i < len(runs); i += 2 { // outside code spans
				if j := strings.IndexAny(runs[i], `*_[]<>\|#`); j >= 0 {
					t.Errorf("%s: %q holds Markdown other than code spans (%q)", a.Code, text, runs[i][j])
				}
			}
		}
	}
}

// TestAdviceForEveryCode: every code Verify can return under either profile,
// and MoEngage's UNKNOWN, has advice; a Braze code has the advice of the
// MoEngage code the same failure gets; VALID has none.
func TestAdviceForEveryCode(t *testing.T) {
	moengage := []string{verify.CodeDecryptionFailed, verify.CodeHeaderTypeIncompatible, verify.CodeInvalidSignature,
		verify.CodePayloadContentMissing, verify.CodeTimeConstraintFailure, verify.CodeIdentifierMismatch, verify.CodeUnknown}
	var documented []string
	for _, a := range verify.Troubleshooting() {
		documented = append(documented, a.Code)
	}
	if !slices.Equal(documented, moengage) {
		t.Errorf("troubleshooting codes = %v, want MoEngage's %v", documented, moengage)
	}
	for _, code := range moengage {
		if a, ok := verify.AdviceFor(code); !ok || a.Code != code || a.Seen == "" || a.Fix == "" {
			t.Errorf("AdviceFor(%s) = %+v, %v; want its own row", code, a, ok)
		}
	}
	for braze, moe := range map[string]string{
		verify.CodeBrazeMissingToken:       verify.CodeDecryptionFailed,
		verify.CodeBrazeDecodingError:      verify.CodeDecryptionFailed,
		verify.CodeBrazeIncorrectAlgorithm: verify.CodeHeaderTypeIncompatible,
		verify.CodeBrazeNoMatchingKeys:     verify.CodeInvalidSignature,
		verify.CodeBrazeInvalidPayload:     verify.CodePayloadContentMissing,
		verify.CodeBrazeExpirationRequired: verify.CodePayloadContentMissing,
		verify.CodeBrazeExpired:            verify.CodeTimeConstraintFailure,
		verify.CodeBrazeSubjectMismatch:    verify.CodeIdentifierMismatch,
	} {
		want, _ := verify.AdviceFor(moe)
		if a, ok := verify.AdviceFor(braze); !ok || a != want {
			t.Errorf("AdviceFor(%s) = %+v, %v; want %s's row", braze, a, ok, moe)
		}
	}
	for _, code := range []string{verify.CodeValid, "", "TOKEN_EXPIRED"} {
		if a, ok := verify.AdviceFor(code); ok {
			t.Errorf("AdviceFor(%q) = %+v; want none", code, a)
		}
	}
}
