package tokenclient_test

import (
	"context"
	"net/http"
	"testing"
)

// TestEndSessionsOfUserIDsWithReservedCharacters blocks users whose ids
// hold each character a URL path treats specially, and non-ASCII, through
// Backend.EndSessions: each user's session ends, and its refresh token
// stops working.
func TestEndSessionsOfUserIDsWithReservedCharacters(t *testing.T) {
	svc := startService(t)
	backend := svc.backend()
	ctx := context.Background()
	for _, id := range []string{
		"team/alice", "a;b", "a,b", "a+b", "100%", "a?b", "a#b", "a&b", "a=b", "a@b", "a:b", "a b",
		"zoë", "用户", "a%2Fb", "%41", "/", "a/../b", "..",
	} {
		t.Run(id, func(t *testing.T) {
			s, err := backend.CreateSession(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			n, err := backend.EndSessions(ctx, id)
			if err != nil || n != 1 {
				t.Fatalf("EndSessions(%q) = %d, %v; want 1 session ended", id, n, err)
			}
			req, _ := http.NewRequest("POST", svc.url+"/v1/sessions/refresh", nil)
			req.Header.Set("Authorization", "Bearer "+s.RefreshToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("refresh after EndSessions(%q): %s, want 401", id, resp.Status)
			}
		})
	}
}
