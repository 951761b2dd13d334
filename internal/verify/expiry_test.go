package verify_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
)

func TestExpiryInWords(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 43, 0, 0, time.UTC)
	halfPast := at.Add(500 * time.Millisecond)
	millennium := at.AddDate(1000, 0, 0)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		exp, now time.Time
		want     string
	}{
		{"no expiry", time.Time{}, at, "has no expiry"},
		{"the issue's example", at.Add(59 * time.Minute), at, "expires in 59 minutes (at 2026-12-01 11:42:00 UTC)"},
		{"a nanosecond left", at.Add(time.Nanosecond), at, "expires in less than a second (at 2026-12-01 10:43:00 UTC)"},
		{"just under a second left", at.Add(time.Second - time.Nanosecond), at, "expires in less than a second (at 2026-12-01 10:43:00 UTC)"},
		{"a second left", at.Add(time.Second), at, "expires in 1 second (at 2026-12-01 10:43:01 UTC)"},
		{"just under a minute left", at.Add(time.Minute - time.Nanosecond), at, "expires in 59 seconds (at 2026-12-01 10:43:59 UTC)"},
		{"a minute left", at.Add(time.Minute), at, "expires in 1 minute (at 2026-12-01 10:44:00 UTC)"},
		{"just under two minutes left", at.Add(2*time.Minute - time.Second), at, "expires in 1 minute (at 2026-12-01 10:44:59 UTC)"},
		{"just under an hour left", at.Add(time.Hour - time.Nanosecond), at, "expires in 59 minutes (at 2026-12-01 11:42:59 UTC)"},
		{"an hour left", at.Add(time.Hour), at, "expires in 1 hour (at 2026-12-01 11:43:00 UTC)"},
		{"just under a day left", at.Add(24*time.Hour - time.Nanosecond), at, "expires in 23 hours (at 2026-12-02 10:42:59 UTC)"},
		{"a day left", at.Add(24 * time.Hour), at, "expires in 1 day (at 2026-12-02 10:43:00 UTC)"},
		{"two days left", at.Add(48 * time.Hour), at, "expires in 2 days (at 2026-12-03 10:43:00 UTC)"},
		{"now has a fraction", at.Add(time.Minute), halfPast, "expires in 59 seconds (at 2026-12-01 10:44:00 UTC)"},
		{"half a second left", at.Add(time.Second), halfPast, "expires in less than a second (at 2026-12-01 10:43:01 UTC)"},
		{"a thousand years left", millennium, at,
			fmt.Sprintf("expires in %d days (at 3026-12-01 10:43:00 UTC)", (millennium.Unix()-at.Unix())/86400)},
		{"exactly now", at, at, "expired just now (at 2026-12-01 10:43:00 UTC)"},
		{"a nanosecond ago", at.Add(-time.Nanosecond), at, "expired just now (at 2026-12-01 10:42:59 UTC)"},
		{"just under a second ago", at, at.Add(time.Second - time.Nanosecond), "expired just now (at 2026-12-01 10:43:00 UTC)"},
		{"a second ago", at.Add(-time.Second), at, "expired 1 second ago (at 2026-12-01 10:42:59 UTC)"},
		{"59 seconds ago", at.Add(-59 * time.Second), at, "expired 59 seconds ago (at 2026-12-01 10:42:01 UTC)"},
		{"a minute ago", at.Add(-time.Minute), at, "expired 1 minute ago (at 2026-12-01 10:42:00 UTC)"},
		{"3 hours ago", at.Add(-3 * time.Hour), at, "expired 3 hours ago (at 2026-12-01 07:43:00 UTC)"},
		{"just under 4 hours ago", at.Add(-4*time.Hour + time.Second), at, "expired 3 hours ago (at 2026-12-01 06:43:01 UTC)"},
		{"a day ago", at.Add(-24 * time.Hour), at, "expired 1 day ago (at 2026-11-30 10:43:00 UTC)"},
		{"in another zone, said in UTC", at.Add(time.Hour).In(paris), at.In(paris), "expires in 1 hour (at 2026-12-01 11:43:00 UTC)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verify.ExpiryInWords(tc.exp, tc.now); got != tc.want {
				t.Errorf("ExpiryInWords(%s, %s) = %q, want %q", tc.exp, tc.now, got, tc.want)
			}
		})
	}
}

// TestResultExpiryInWords: the words for a verdict agree with it, with no
// leeway: at exp the token has expired, a second before it has not; and a
// result without a usable exp says why.
func TestResultExpiryInWords(t *testing.T) {
	key := testKey()
	v := verifier(profile.MoEngage, &key.PublicKey)
	for _, offset := range []int64{-1, 0, 1} {
		res := v.Verify(forge(t, goodHeader(), with(goodClaims(), "exp", now.Unix()+offset), key), "user-42")
		words := res.ExpiryInWords(now)
		if expired := res.Code == verify.CodeTimeConstraintFailure; expired != strings.HasPrefix(words, "expired ") {
			t.Errorf("exp now%+ds: verdict %s but %q", offset, res.Code, words)
		}
	}
	for name, tc := range map[string]struct {
		res  verify.Result
		want string
	}{
		"payload unreadable": {verify.Result{}, "has a payload that could not be read, so no known expiry"},
		"no exp":             {verify.Result{Claims: map[string]any{"sub": "u"}}, "has no expiry"},
		"exp a string":       {verify.Result{Claims: map[string]any{"exp": "tomorrow"}}, "has an exp that is not a date (seconds since 1970 as a number), so no known expiry"},
		"exp null":           {verify.Result{Claims: map[string]any{"exp": nil}}, "has an exp that is not a date (seconds since 1970 as a number), so no known expiry"},
		"exp a date": {verify.Result{Claims: map[string]any{"exp": json.Number("1795525200")}, ExpiresAt: ptr(now.Add(time.Hour))},
			"expires in 1 hour (at 2026-11-24 13:00:00 UTC)"},
	} {
		if got := tc.res.ExpiryInWords(now); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
	res := v.Verify(forge(t, goodHeader(), with(goodClaims(), "exp", "tomorrow"), key), "")
	if got := res.ExpiryInWords(now); !strings.HasPrefix(got, "has an exp that is not a date") {
		t.Errorf("a token whose exp is a string: %q", got)
	}
}

func ptr[T any](v T) *T { return &v }
