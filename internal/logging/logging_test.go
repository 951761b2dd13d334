package logging_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/internal/journal"
	"github.com/tokensvc/tokensvc/internal/logging"
)

// TestJSONFormatParsesLineByLine: with TOKENSVC_LOG_FORMAT=json every line
// is one JSON object, whatever the message holds, and a request's lines
// carry its id.
func TestJSONFormatParsesLineByLine(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "info", "json")
	ctx := journal.WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "a message\nwith a newline and \"quotes\"", "kid", "k1")
	log.Info("no request")
	log.Debug("below the level")
	log.With("component", "rotator").WarnContext(ctx, "derived logger")

	var lines []map[string]any
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3 (debug is below info): %v", len(lines), lines)
	}
	if lines[0]["request_id"] != "req-1" || lines[0]["kid"] != "k1" || lines[0]["level"] != "INFO" {
		t.Errorf("first line %v, want request_id req-1, kid k1, level INFO", lines[0])
	}
	if _, ok := lines[1]["request_id"]; ok {
		t.Errorf("a line logged without a request has request_id: %v", lines[1])
	}
	if lines[2]["request_id"] != "req-1" || lines[2]["component"] != "rotator" {
		t.Errorf("derived logger's line %v, want request_id req-1 and component rotator", lines[2])
	}
}

// TestTextFormatIsTheDefault: text unless json is asked, at the level asked.
func TestTextFormatIsTheDefault(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, "debug", "text")
	log.DebugContext(journal.WithRequestID(context.Background(), "req-2"), "hello")
	if got := buf.String(); !strings.HasPrefix(got, "time=") || !strings.Contains(got, "level=DEBUG msg=hello request_id=req-2\n") {
		t.Errorf("text line %q, want level=DEBUG msg=hello request_id=req-2", got)
	}
}
