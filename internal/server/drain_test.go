package server_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDrainServesThroughTheDelay stops a server as SIGTERM does: /readyz
// must answer 503 at once on both faces, minting and refreshing must go on
// working for TOKENSVC_SHUTDOWN_DELAY, a request in flight when the
// listeners close must be answered, and Run must return nil within delay
// plus timeout.
func TestDrainServesThroughTheDelay(t *testing.T) {
	const delay, timeout = 1500 * time.Millisecond, 5 * time.Second
	r := start(t, map[string]string{"TOKENSVC_ADMIN_ADDR": "127.0.0.1:0",
		"TOKENSVC_SHUTDOWN_DELAY": delay.String(), "TOKENSVC_SHUTDOWN_TIMEOUT": timeout.String()})
	public, admin := "http://"+r.Addr(), "http://"+r.AdminAddr()
	status, body := do(t, http.DefaultClient, "POST", public+"/v1/sessions", `{"user_id":"drained"}`)
	var grant struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(body), &grant); status != http.StatusCreated || err != nil {
		t.Fatalf("create session: %d %s", status, body)
	}

	// A slow request: its headers now, its body once the listeners closed.
	slow := startSlowMint(t, r.Addr())

	stopped := time.Now()
	r.cancel()
	for _, base := range []string{public, admin} {
		for {
			status, body := do(t, http.DefaultClient, "GET", base+"/readyz", "")
			if status == http.StatusServiceUnavailable {
				if !strings.Contains(body, "shutting-down") {
					t.Errorf("%s/readyz while draining: %s, want the shutting-down problem", base, body)
				}
				break
			}
			if time.Since(stopped) > 200*time.Millisecond {
				t.Fatalf("%s/readyz still %d %s 200 ms after the stop", base, status, body)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if status, body := do(t, http.DefaultClient, "POST", public+"/v1/tokens", `{"user_id":"drained"}`); status != http.StatusOK {
		t.Errorf("mint during the delay: %d %s", status, body)
	}
	req, _ := http.NewRequest("POST", public+"/v1/sessions/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+grant.RefreshToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("refresh during the delay: %s", resp.Status)
	}
	if d := time.Since(stopped); d >= delay {
		t.Fatalf("the requests during the delay took %s, longer than the delay %s: the test proves nothing", d, delay)
	}

	// Once the listener has closed, the slow request gets its body.
	for {
		c, err := net.Dial("tcp", r.Addr())
		if err != nil {
			break
		}
		c.Close()
		if time.Since(stopped) > delay+time.Second {
			t.Fatal("the listener is still open a second after the delay")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := time.Since(stopped); d < delay {
		t.Errorf("the listener closed %s after the stop, before the delay %s ended", d, delay)
	}
	if status := slow.finish(t); status != http.StatusOK {
		t.Errorf("the request in flight when the listeners closed: %d, want 200", status)
	}
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup, which checks it is nil
		t.Logf("Run returned %s after the stop", time.Since(stopped).Round(time.Millisecond))
	case <-time.After(delay + timeout):
		t.Fatalf("Run did not return within delay + timeout (%s)", delay+timeout)
	}
}

// slowMint is a mint request whose handler is reading a body not yet sent.
type slowMint struct {
	conn net.Conn
	br   *bufio.Reader
	body string
}

func startSlowMint(t *testing.T, addr string) *slowMint {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &slowMint{conn: conn, br: bufio.NewReader(conn), body: `{"user_id":"in-flight"}`}
	head := "POST /v1/tokens HTTP/1.1\r\nHost: tokensvc\r\nAuthorization: Bearer " + adminKey +
		"\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " + strconv.Itoa(len(s.body)) + "\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	// 100 Continue is sent when the handler starts reading the body: from
	// then on the request is in flight.
	if line, err := s.br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue, got %q, %v", line, err)
	}
	if _, err := s.br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	return s
}

// finish sends the body and returns the answer's status.
func (s *slowMint) finish(t *testing.T) int {
	t.Helper()
	if _, err := io.WriteString(s.conn, s.body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(s.br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
