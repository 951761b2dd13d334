package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// serviceLog collects the service log the harness writes in JSON, one
// object a line, from the server's goroutines.
type serviceLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *serviceLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *serviceLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines parses the log, once it holds at least accessLines access lines:
// a request's line is written as its handler returns, which may be just
// after the client has read the response.
func (l *serviceLog) lines(t *testing.T, accessLines int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var lines []map[string]any
		n := 0
		sc := bufio.NewScanner(bytes.NewBufferString(l.String()))
		for sc.Scan() {
			var line map[string]any
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
			}
			if line["msg"] == "request" {
				n++
			}
			lines = append(lines, line)
		}
		if n >= accessLines || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
}
