package verify

import (
	"fmt"
	"time"
)

// ExpiryInWords says, for a person reading a token, when exp is as seen
// from now: "expires in 59 minutes (at 2026-12-01 11:42:00 UTC)", "expired
// 3 hours ago (at …)", or "has no expiry" when exp is the zero time. It
// reads as what follows "the token".
//
// The span is counted down to a whole second, minute, hour or day, so
// "expires in 59 minutes" may mean 59 min 59 s, never an hour. It knows no
// leeway: at exp, and after it, the token "expired", as Verify with no
// leeway says (POST /v1/verify has none).
func ExpiryInWords(exp, now time.Time) string {
	if exp.IsZero() {
		return "has no expiry"
	}
	at := " (at " + exp.UTC().Format("2006-01-02 15:04:05") + " UTC)"
	if now.Before(exp) {
		if secs := wholeSeconds(now, exp); secs > 0 {
			return "expires in " + span(secs) + at
		}
		return "expires in less than a second" + at
	}
	if secs := wholeSeconds(exp, now); secs > 0 {
		return "expired " + span(secs) + " ago" + at
	}
	return "expired just now" + at
}

// ExpiryInWords is the package's ExpiryInWords for the token's exp, or
// says why there is none to count down: the payload did not decode, it has
// no exp, or its exp is not a date.
func (r Result) ExpiryInWords(now time.Time) string {
	if r.ExpiresAt != nil {
		return ExpiryInWords(*r.ExpiresAt, now)
	}
	if r.Claims == nil {
		return "has a payload that could not be read, so no known expiry"
	}
	if _, present := r.Claims["exp"]; present {
		return "has an exp that is not a date (seconds since 1970 as a number), so no known expiry"
	}
	return ExpiryInWords(time.Time{}, now)
}

// wholeSeconds is how many whole seconds from earlier to later. It counts
// in seconds rather than a time.Duration, which ends 292 years out, while
// an exp may be set millennia ahead.
func wholeSeconds(earlier, later time.Time) int64 {
	secs := later.Unix() - earlier.Unix()
	if later.Nanosecond() < earlier.Nanosecond() {
		secs--
	}
	return secs
}

// span names a number of seconds in its largest whole unit, up to days.
func span(secs int64) string {
	switch {
	case secs < 60:
		return count(secs, "second")
	case secs < 60*60:
		return count(secs/60, "minute")
	case secs < 24*60*60:
		return count(secs/(60*60), "hour")
	}
	return count(secs/(24*60*60), "day")
}

func count(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
