package console_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/console"
	"github.com/tokensvc/tokensvc/internal/httpapi"
	"github.com/tokensvc/tokensvc/internal/jwtforge"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

// fillPageDeps gives d an empty fake for each dependency of the
// inspector, sessions and API keys pages it lacks, so that any test may
// open those pages.
func fillPageDeps(d *console.Deps, s *signIns) {
	if d.Verifier == nil {
		d.Verifier = &verify.Verifier{Now: time.Now}
	}
	if d.Sessions == nil {
		d.Sessions = &userSessions{}
	}
	if d.APIKeys == nil {
		d.APIKeys = &apiKeyAdmin{signIns: s}
	}
}

// inspectNow is the inspector tests' clock.
var inspectNow = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

var (
	rsaOnce                sync.Once
	publishedKey, otherKey *rsa.PrivateKey
)

// testKeys returns the published key k1's private half, and a key
// nobody published.
func testKeys(t *testing.T) (published, unpublished *rsa.PrivateKey) {
	t.Helper()
	rsaOnce.Do(func() {
		var err error
		if publishedKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return publishedKey, otherKey
}

// publishedSet is a KeySet publishing one key, k1.
type publishedSet struct{ pub *rsa.PublicKey }

func (s publishedSet) Snapshot() *keys.Snapshot {
	return &keys.Snapshot{Published: []*keys.Key{{KID: "k1", Public: s.pub}}}
}

// inspector returns the verifier the server gives the console, over the
// published key k1, under prof.
func inspector(t *testing.T, prof profile.Profile) console.TokenVerifier {
	t.Helper()
	priv, _ := testKeys(t)
	return httpapi.PublishedVerifier{
		Rules: verify.Verifier{Profile: prof, SubjectKey: "uid"},
		Keys:  publishedSet{&priv.PublicKey},
		Now:   func() time.Time { return inspectNow },
	}
}

// mint signs a token for user under prof's claim layout, expiring at exp,
// with key, whose kid it names.
func mint(t *testing.T, prof profile.Profile, user string, exp time.Time, kid string, key *rsa.PrivateKey) string {
	t.Helper()
	var sub any = map[string]any{"key": "uid", "value": user}
	if prof == profile.Braze {
		sub = user
	}
	tok, err := jwtforge.Sign(map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid},
		map[string]any{"sub": sub, "iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix()}, key)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// elementText returns the inner HTML of the element with id in page, up to
// the first closing tag, or "" when there is none.
func elementText(page, id string) string {
	m := regexp.MustCompile(`(?s)<(\w+)[^>]* id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(\w+)>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return m[2]
}

func TestInspectForm(t *testing.T) {
	h := newHarness(t, console.Deps{Verifier: inspector(t, profile.MoEngage)})
	c := h.signIn(t, adminSecret)
	res := h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}})
	for _, want := range []string{`<label for="token">`, `<textarea id="token" name="token"`, `<label for="user_id">`, `id="user_id" name="user_id"`} {
		if res.status != http.StatusOK || !strings.Contains(res.body, want) {
			t.Errorf("inspector form: %d, want 200 with %s\n%s", res.status, want, res.body)
		}
	}
	if strings.Contains(res.body, `id="verdict-code"`) {
		t.Error("a verdict before any token was posted")
	}
}

func TestInspect(t *testing.T) {
	priv, other := testKeys(t)
	tests := []struct {
		name       string
		prof       profile.Profile
		token      string
		userID     string
		code       string
		want       []string // in the page
		wantNot    []string
		verifiedBy string
	}{
		{name: "good", prof: profile.MoEngage, token: mint(t, profile.MoEngage, "alice", inspectNow.Add(59*time.Minute+30*time.Second), "k1", priv), userID: "alice",
			code: "VALID", verifiedBy: "k1",
			want:    []string{`<span id="expiry">expires in 59 minutes (at 2026-12-01 10:59:30 UTC)</span>`, `&#34;kid&#34;: &#34;k1&#34;`, `&#34;value&#34;: &#34;alice&#34;`},
			wantNot: []string{`id="advice"`, `id="no-advice"`}},
		{name: "expired", prof: profile.MoEngage, token: mint(t, profile.MoEngage, "alice", inspectNow.Add(-3*time.Hour), "k1", priv),
			code: "TIME_CONSTRAINT_FAILURE", verifiedBy: "k1",
			want: []string{`expired 3 hours ago`, `<dd id="advice-seen"><code>exp</code> has passed, or <code>iat</code>/<code>nbf</code> is in the future</dd>`,
				`fetch a new token`}},
		{name: "unpublished key", prof: profile.MoEngage, token: mint(t, profile.MoEngage, "alice", inspectNow.Add(time.Hour), "k9", other),
			code: "INVALID_SIGNATURE",
			want: []string{`<dd id="kid"><code>k9</code></dd>`, `no published key verified the signature`, `(<code>tokensvc keys pem KID</code>)`}},
		{name: "another user", prof: profile.MoEngage, token: mint(t, profile.MoEngage, "alice", inspectNow.Add(time.Hour), "k1", priv), userID: "bob",
			code: "IDENTIFIER_MISMATCH", verifiedBy: "k1", want: []string{`<code>TOKENSVC_SUBJECT_KEY</code>`}},
		{name: "not a JWT", prof: profile.MoEngage, token: "not-a-jwt", code: "DECRYPTION_FAILED",
			want:    []string{`id="header-missing"`, `id="payload-missing"`, "has a payload that could not be read", `<code>Bearer </code>`},
			wantNot: []string{`<pre id="header">`}},
		{name: "braze expired: the message only", prof: profile.Braze, token: mint(t, profile.Braze, "alice", inspectNow.Add(-time.Minute), "k1", priv),
			code: "EXPIRED", verifiedBy: "k1",
			want:    []string{"(Braze error 22)", `id="no-advice"`, "lists MoEngage&#39;s codes"},
			wantNot: []string{`id="advice"`, "TIME_CONSTRAINT_FAILURE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, console.Deps{Verifier: inspector(t, tc.prof), Now: func() time.Time { return inspectNow }})
			c := h.signIn(t, adminSecret)
			csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}}).body)
			res := h.do(t, request{method: "POST", path: "/console/inspect", cookies: []*http.Cookie{c},
				form: url.Values{"csrf": {csrf}, "token": {tc.token}, "user_id": {tc.userID}}})
			if res.status != http.StatusOK || res.header.Get("Location") != "" || res.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d, Location %q, Cache-Control %q; want 200, no redirect, no-store", res.status, res.header.Get("Location"), res.header.Get("Cache-Control"))
			}
			if got := elementText(res.body, "verdict-code"); got != tc.code {
				t.Errorf("verdict-code %q, want %q", got, tc.code)
			}
			if elementText(res.body, "verdict-message") == "" {
				t.Error("no verdict message")
			}
			if tc.verifiedBy != "" && !strings.Contains(res.body, `id="verified-by">the published key <code>`+tc.verifiedBy+"</code>") {
				t.Errorf("verified-by is not key %s", tc.verifiedBy)
			}
			for _, want := range tc.want {
				if !strings.Contains(res.body, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			for _, not := range tc.wantNot {
				if strings.Contains(res.body, not) {
					t.Errorf("the page has %s", not)
				}
			}
			// The answer is the form again, with what was posted.
			if !strings.Contains(res.body, ">"+tc.token+"</textarea>") {
				t.Error("the form does not keep the token")
			}
		})
	}
}

// TestInspectEscapesTheToken checks that what is pasted is text on the
// page, wherever it shows: the textarea, the decoded header and payload.
func TestInspectEscapesTheToken(t *testing.T) {
	priv, _ := testKeys(t)
	tok, err := jwtforge.Sign(map[string]any{"alg": "RS256", "typ": "JWT", "kid": "</pre><script>alert(1)</script>"},
		map[string]any{"sub": map[string]any{"key": "uid", "value": "<b>alice</b>"}, "exp": inspectNow.Add(time.Hour).Unix()}, priv)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, console.Deps{Verifier: inspector(t, profile.MoEngage), Now: func() time.Time { return inspectNow }})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}}).body)
	for _, token := range []string{tok, "</textarea><script>alert(1)</script>"} {
		res := h.do(t, request{method: "POST", path: "/console/inspect", cookies: []*http.Cookie{c},
			form: url.Values{"csrf": {csrf}, "token": {token}, "user_id": {`"><script>alert(2)</script>`}}})
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
		for _, bad := range []string{"<script>alert", "<b>alice"} {
			if strings.Contains(res.body, bad) {
				t.Errorf("the page holds %s unescaped", bad)
			}
		}
	}
}

// TestInspectorNeverLogsTheToken reads the service log at debug level
// across a good, a refused and a malformed token: none of them, nor a
// part of one, is in it.
func TestInspectorNeverLogsTheToken(t *testing.T) {
	priv, other := testKeys(t)
	var log bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := newHarness(t, console.Deps{Verifier: inspector(t, profile.MoEngage), Logger: logger, Now: func() time.Time { return inspectNow }})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}}).body)
	tokens := []string{
		mint(t, profile.MoEngage, "alice", inspectNow.Add(time.Hour), "k1", priv),
		mint(t, profile.MoEngage, "alice", inspectNow.Add(time.Hour), "k1", other),
		mint(t, profile.MoEngage, "alice", inspectNow.Add(-time.Hour), "k1", priv) + ".extra",
		"eyJhbGciOiJIUzI1NiJ9.garbage-token-part.sig",
	}
	for _, tok := range tokens {
		res := h.do(t, request{method: "POST", path: "/console/inspect", cookies: []*http.Cookie{c},
			form: url.Values{"csrf": {csrf}, "token": {tok}, "user_id": {"alice"}}})
		if res.status != http.StatusOK {
			t.Fatalf("status %d", res.status)
		}
	}
	for _, tok := range tokens {
		for _, part := range strings.Split(tok, ".") {
			if len(part) >= 8 && strings.Contains(log.String(), part) {
				t.Errorf("the log holds part of a token (%.20s…):\n%s", part, log.String())
			}
		}
	}
}

// TestInspectTakesTheUserIDAsGiven: the user id is compared as the app
// sends it, untrimmed, as POST /v1/verify compares it.
func TestInspectTakesTheUserIDAsGiven(t *testing.T) {
	priv, _ := testKeys(t)
	h := newHarness(t, console.Deps{Verifier: inspector(t, profile.MoEngage), Now: func() time.Time { return inspectNow }})
	c := h.signIn(t, adminSecret)
	csrf := csrfOf(t, h.do(t, request{method: "GET", path: "/console/inspect", cookies: []*http.Cookie{c}}).body)
	tok := mint(t, profile.MoEngage, "alice", inspectNow.Add(time.Hour), "k1", priv)
	res := h.do(t, request{method: "POST", path: "/console/inspect", cookies: []*http.Cookie{c},
		form: url.Values{"csrf": {csrf}, "token": {tok}, "user_id": {"alice "}}})
	if got := elementText(res.body, "verdict-code"); got != "IDENTIFIER_MISMATCH" {
		t.Errorf("user id %q: verdict %q, want IDENTIFIER_MISMATCH", "alice ", got)
	}
}
