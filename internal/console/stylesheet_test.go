package console_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestStylesheetBlocksClose checks that every block of console.css is
// closed where it should be: a browser closes an unclosed @media block at
// the end of the file, so a brace lost in a merge silently turns every
// rule after it into a rule for phones only.
func TestStylesheetBlocksClose(t *testing.T) {
	css, err := os.ReadFile("static/console.css")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(css), "")
	depth := 0
	for i, line := range strings.Split(text, "\n") {
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth < 0 {
			t.Fatalf("console.css line %d closes a block that is not open", i+1)
		}
		// A page's section starts at the top level: a selector line at
		// depth 1 right after the @media block's rules means the block
		// was never closed.
		if strings.HasPrefix(line, "@media") && depth != 1 {
			t.Errorf("console.css line %d: @media opens inside another block (depth %d)", i+1, depth)
		}
	}
	if depth != 0 {
		t.Errorf("console.css ends with %d block(s) open", depth)
	}
}
