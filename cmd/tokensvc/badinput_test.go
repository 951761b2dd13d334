package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBadInputAgainstTheServer sends the running service what an attacker
// or a broken client would: each gets a clear 4xx or a closed connection,
// never a 5xx, and the service is healthy afterwards.
func TestBadInputAgainstTheServer(t *testing.T) {
	t.Parallel()
	admin := "tks_badinput-0123456789abcdefghijklmnopqrs"
	inst := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir(), "TOKENSVC_BOOTSTRAP_API_KEY": admin})
	deep := strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)
	bodies := []struct {
		name, body string
		status     int
	}{
		{"unknown field", `{"user_id":"alice","role":"admin"}`, 400},
		{"duplicate key", `{"user_id":"alice","user_id":"mallory"}`, 400},
		{"deep nesting", `{"user_id":"alice","claims":` + deep + `}`, 400},
		{"not UTF-8", "{\"user_id\":\"\xc3\x28\"}", 400},
		{"NUL in user_id", `{"user_id":"ali\u0000ce"}`, 400},
		{"raw NUL byte", "{\"user_id\":\"ali\x00ce\"}", 400},
		{"control character in user_id", `{"user_id":"alice\u001b[31m"}`, 400},
		{"line break in user_id", `{"user_id":"alice\nuser_id: mallory"}`, 400},
		{"reserved claim", `{"user_id":"alice","claims":{"sub":"mallory"}}`, 400},
		{"huge ttl", `{"user_id":"alice","ttl_seconds":1e308}`, 400},
		{"user_id too long", `{"user_id":"` + strings.Repeat("x", 10000) + `"}`, 400},
		{"body too large", `{"user_id":"` + strings.Repeat("x", 1<<20) + `"}`, 413},
	}
	for _, tt := range bodies {
		t.Run(tt.name, func(t *testing.T) {
			status, body := inst.request(t, "POST", "/v1/tokens", admin, tt.body)
			if status != tt.status {
				t.Errorf("%d %s, want %d", status, body, tt.status)
			}
		})
	}

	addr := strings.TrimPrefix(inst.url, "http://")
	t.Run("huge header", func(t *testing.T) {
		req, _ := http.NewRequest("POST", inst.url+"/v1/tokens", strings.NewReader(`{"user_id":"alice"}`))
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("X-Padding", strings.Repeat("p", 64<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // the server may close the connection instead: also fine
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB header: %d, want 431", resp.StatusCode)
		}
	})
	t.Run("slowloris", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// Half a request line, then nothing: the server must hang up after
		// its header timeout rather than hold the connection forever.
		if _, err := io.WriteString(conn, "POST /v1/tokens HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		start := time.Now()
		_, err = bufio.NewReader(conn).ReadString('\n')
		if err == nil {
			// Go may answer 408 before closing; the next read must end.
			_, err = io.ReadAll(conn)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the connection was still open after %s", time.Since(start))
		}
		t.Logf("connection closed after %s", time.Since(start).Round(time.Millisecond))
	})
	t.Run("bad request line", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "GARBAGE\x00\x01\x02\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		// The server must answer 400 or hang up, and soon: a connection it
		// leaves open on garbage is one a client can pile up.
		const within = 10 * time.Second
		conn.SetReadDeadline(time.Now().Add(within))
		line, err := bufio.NewReader(conn).ReadString('\n')
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("no answer and the connection still open after %s", within)
		}
		if line != "" && !strings.Contains(line, " 400 ") {
			t.Errorf("answer %q, want 400 or a closed connection", line)
		}
	})
	t.Run("path traversal in a kid", func(t *testing.T) {
		status, _ := inst.request(t, "GET", "/v1/keys/"+url.PathEscape("../../etc/passwd")+"/public.pem", "", "")
		if status != http.StatusNotFound {
			t.Errorf("%d, want 404", status)
		}
	})

	if status, _ := inst.request(t, "GET", "/healthz", "", ""); status != http.StatusOK {
		t.Errorf("/healthz after the abuse: %d", status)
	}
	inst.mint(t, admin, `{"user_id":"alice"}`)
	if log := inst.stderr.String(); strings.Contains(log, "panic") || strings.Contains(log, "level=ERROR") {
		t.Errorf("the service logged an error or a panic:\n%s", log)
	}
}
