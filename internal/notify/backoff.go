package notify

import "time"

// The retry schedule: 10 s after the first failed attempt, doubling each
// time up to an hour between attempts, for at most a day after the event
// was made. By then a person has long acted on the state the event
// describes (keys list and doctor show it) or needs to learn it another
// way; sending it later would be news of a past that may have changed.
const (
	firstRetry  = 10 * time.Second
	maxRetry    = time.Hour
	giveUpAfter = 24 * time.Hour
	// jitterShare is the largest part of a delay taken off at random, so
	// events that failed together (the receiver was down) spread out
	// instead of arriving all at once when it comes back.
	jitterShare = 0.2
)

// retryAt returns when to try an event made at created again, after its
// attempt-th failed attempt (1 for the first) at now; zero means give up.
// jitter is in [0, 1). The last try is made at the deadline itself, so an
// event is tried for the whole day and not a moment beyond.
func retryAt(created, now time.Time, attempt int, jitter float64) time.Time {
	deadline := created.Add(giveUpAfter)
	if !now.Before(deadline) {
		return time.Time{}
	}
	d := maxRetry
	// 10 s << 9 is already past an hour; the bound keeps the shift from
	// overflowing after many attempts.
	if attempt >= 1 && attempt <= 9 {
		d = min(firstRetry<<(attempt-1), maxRetry)
	}
	d -= time.Duration(jitter * jitterShare * float64(d))
	next := now.Add(d)
	if next.After(deadline) {
		next = deadline
	}
	return next
}
