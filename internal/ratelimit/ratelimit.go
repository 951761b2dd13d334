// Package ratelimit keeps a token bucket per caller — per API key, per
// user — so that one caller cannot take the service from the others.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Rate is N requests per Per, in bursts of up to N. The zero Rate is no
// limit.
type Rate struct {
	N   int
	Per time.Duration
}

// Off reports whether r limits nothing.
func (r Rate) Off() bool { return r.N == 0 }

func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	unit := map[time.Duration]string{time.Second: "s", time.Minute: "min", time.Hour: "h"}[r.Per]
	return fmt.Sprintf("%d/%s", r.N, unit)
}

// ParseRate reads a rate written as N/s, N/min or N/h, or "off".
func ParseRate(s string) (Rate, error) {
	if strings.EqualFold(s, "off") {
		return Rate{}, nil
	}
	n, unit, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return Rate{}, fmt.Errorf("%q is not a rate (write it as N/s, N/min or N/h with N ≥ 1, or off)", s)
	}
	per, ok := map[string]time.Duration{"s": time.Second, "min": time.Minute, "h": time.Hour}[unit]
	if !ok {
		return Rate{}, fmt.Errorf("%q: the unit must be s, min or h", s)
	}
	return Rate{N: count, Per: per}, nil
}

// Keyed is a token bucket per key. Buckets that have filled up again are
// forgotten — a full bucket is the same as a new one — so memory follows
// the number of recently active callers, not of all callers ever seen.
type Keyed struct {
	what  string
	rate  Rate
	limit rate.Limit
	now   func() time.Time

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter
	nextSweep time.Time
}

// NewKeyed returns buckets of rate r, one per what ("API key", "user");
// now tells the time (nil: time.Now).
func NewKeyed(what string, r Rate, now func() time.Time) *Keyed {
	if now == nil {
		now = time.Now
	}
	k := &Keyed{what: what, rate: r, now: now, buckets: map[string]*rate.Limiter{}}
	if !r.Off() {
		k.limit = rate.Limit(float64(r.N) / r.Per.Seconds())
	}
	return k
}

// ErrLimited is returned (wrapped in a *LimitedError) when a key has used
// up its bucket.
var ErrLimited = errors.New("rate limit exceeded")

// LimitedError says which limit was met and when to try again.
type LimitedError struct {
	What       string // "API key", "user"
	Rate       Rate
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("%s rate limit of %s exceeded; retry in %s", e.What, e.Rate, e.RetryAfter)
}

func (e *LimitedError) Unwrap() error { return ErrLimited }

// Take takes a token from key's bucket, or returns a *LimitedError saying
// when to try again. A nil Keyed limits nothing.
func (k *Keyed) Take(key string) error {
	if k == nil {
		return nil
	}
	if ok, retry := k.Allow(key); !ok {
		return &LimitedError{What: k.what, Rate: k.rate, RetryAfter: retry}
	}
	return nil
}

// Allow takes a token from key's bucket, or reports how long until one
// will be there.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	if k.rate.Off() {
		return true, 0
	}
	now := k.now()
	k.mu.Lock()
	defer k.mu.Unlock()
	if now.After(k.nextSweep) {
		k.sweep(now)
	}
	lim, found := k.buckets[key]
	if !found {
		lim = rate.NewLimiter(k.limit, k.rate.N)
		k.buckets[key] = lim
	}
	if lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - lim.TokensAt(now)
	return false, time.Duration(math.Ceil(missing / float64(k.limit) * float64(time.Second)))
}

// sweep forgets the buckets that are full again. It runs at most once per
// refill period, so its cost is spread over that period's requests.
func (k *Keyed) sweep(now time.Time) {
	for key, lim := range k.buckets {
		if lim.TokensAt(now) >= float64(k.rate.N) {
			delete(k.buckets, key)
		}
	}
	k.nextSweep = now.Add(k.rate.Per)
}

// Len returns how many buckets are kept, for tests and metrics.
func (k *Keyed) Len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.buckets)
}
