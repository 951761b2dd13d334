package ratelimit_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want ratelimit.Rate
		err  bool
	}{
		{"60/min", ratelimit.Rate{N: 60, Per: time.Minute}, false},
		{"5/s", ratelimit.Rate{N: 5, Per: time.Second}, false},
		{"1000/h", ratelimit.Rate{N: 1000, Per: time.Hour}, false},
		{"off", ratelimit.Rate{}, false},
		{"OFF", ratelimit.Rate{}, false},
		{"0/s", ratelimit.Rate{}, true},
		{"-1/s", ratelimit.Rate{}, true},
		{"10", ratelimit.Rate{}, true},
		{"10/day", ratelimit.Rate{}, true},
		{"ten/s", ratelimit.Rate{}, true},
		{"", ratelimit.Rate{}, true},
	}
	for _, tt := range tests {
		got, err := ratelimit.ParseRate(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil && tt.in != "OFF" && got.String() != tt.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestKeyedBurstThenRefill(t *testing.T) {
	c := &clock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	k := ratelimit.NewKeyed("user", ratelimit.Rate{N: 3, Per: time.Minute}, c.now)
	for i := range 3 {
		if ok, _ := k.Allow("alice"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, retry := k.Allow("alice")
	if ok {
		t.Fatal("a fourth request within the burst was allowed")
	}
	if retry != 20*time.Second {
		t.Errorf("retry after %s, want 20s (one token per 20 s)", retry)
	}
	err := k.Take("alice")
	var lim *ratelimit.LimitedError
	if !errors.As(err, &lim) || !errors.Is(err, ratelimit.ErrLimited) || lim.What != "user" || lim.RetryAfter != 20*time.Second {
		t.Errorf("Take = %v, want a LimitedError for user, retry after 20s", err)
	}
	if ok, _ := k.Allow("bob"); !ok {
		t.Error("bob was limited by alice's requests")
	}
	c.t = c.t.Add(20 * time.Second)
	if ok, _ := k.Allow("alice"); !ok {
		t.Error("refused after the refill")
	}
	if ok, _ := k.Allow("alice"); ok {
		t.Error("allowed a second request after one token's refill")
	}
}

func TestKeyedForgetsFullBuckets(t *testing.T) {
	c := &clock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	k := ratelimit.NewKeyed("user", ratelimit.Rate{N: 10, Per: time.Second}, c.now)
	for i := range 1000 {
		k.Allow("user-" + strconv.Itoa(i))
	}
	if k.Len() != 1000 {
		t.Fatalf("Len = %d, want 1000", k.Len())
	}
	c.t = c.t.Add(2 * time.Second)
	k.Allow("someone")
	if k.Len() != 1 {
		t.Errorf("after every bucket refilled, Len = %d, want 1", k.Len())
	}
}

func TestKeyedOff(t *testing.T) {
	k := ratelimit.NewKeyed("user", ratelimit.Rate{}, nil)
	for range 10000 {
		if ok, _ := k.Allow("x"); !ok {
			t.Fatal("an off limit refused a request")
		}
	}
	if k.Len() != 0 {
		t.Errorf("an off limit keeps %d buckets", k.Len())
	}
}

func BenchmarkAllow(b *testing.B) {
	k := ratelimit.NewKeyed("user", ratelimit.Rate{N: 1000000, Per: time.Second}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			k.Allow("user-" + strconv.Itoa(i%1000))
		}
	})
}

func TestNilKeyedLimitsNothing(t *testing.T) {
	var k *ratelimit.Keyed
	if err := k.Take("x"); err != nil {
		t.Errorf("nil Keyed: Take = %v", err)
	}
}
