package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// runResult is one load level's outcome.
type runResult struct {
	Concurrency int            `json:"concurrency"`
	Rate        float64        `json:"rate,omitempty"`
	Requests    int            `json:"requests"`
	Throughput  float64        `json:"throughput_per_second"`
	P50         float64        `json:"p50_ms"`
	P90         float64        `json:"p90_ms"`
	P99         float64        `json:"p99_ms"`
	Max         float64        `json:"max_ms"`
	Statuses    map[string]int `json:"statuses"`
	RatioToRaw  float64        `json:"ratio_to_raw_sign,omitempty"`
	// Unsent counts, open loop, the requests due in the measured period
	// that the load tool had not sent when it ended: the server was behind.
	// Each is in the percentiles with the time it had waited, a lower bound.
	Unsent int `json:"unsent,omitempty"`
	// Server is what the server process used in the measured period, when
	// its pid is known.
	Server *serverUse `json:"server,omitempty"`
}

// serverUse is a server's CPU and memory over one measured period.
type serverUse struct {
	PID int `json:"pid"`
	// CPUPerOK is µs of server CPU (user + system, all threads) per 200
	// answer: per token when minting.
	CPUPerOK float64 `json:"cpu_us_per_ok"`
	// Cores is the server's CPU time over the period's wall time.
	Cores float64 `json:"cores"`
	// MaxRSSKiB is the largest VmRSS sampled each second of the period;
	// HWMKiB is VmHWM at its end, the process's peak since it started.
	MaxRSSKiB int64 `json:"max_rss_kib"`
	HWMKiB    int64 `json:"hwm_kib"`
	// LoadCores is tokenbench's own CPU over the period's wall time;
	// OtherCores what every other process took: on an idle machine about
	// 0, and when not, the period measured other work too.
	LoadCores  float64 `json:"load_tool_cores"`
	OtherCores float64 `json:"other_cores"`
}

// worker sends one kind of request over its own connection; refresh
// workers each keep their own session's rotating token.
type worker struct {
	o       options
	id      int
	conn    *conn
	host    string
	jwks    []byte // the prepared JWKS request
	minted  int    // tokens asked for so far
	refresh string // the worker's current refresh token
}

func newWorker(o options, id int) (*worker, error) {
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("--url %q: tokenbench speaks plain http://host:port", o.url)
	}
	w := &worker{o: o, id: id, conn: &conn{addr: u.Host}, host: u.Host}
	body := []byte(`{"user_id":"bench-user-` + strconv.Itoa(id) + `"}`)
	if o.endpoint == "jwks" {
		w.jwks = buildRequest("GET", w.host, "/.well-known/jwks.json", nil, nil)
	}
	if o.endpoint == "refresh" {
		req := buildRequest("POST", w.host, "/v1/sessions", map[string]string{
			"Authorization": "Bearer " + o.apiKey, "Content-Type": "application/json"}, body)
		status, resp, err := w.conn.roundTrip(req, true)
		if err != nil || status != 201 {
			return nil, fmt.Errorf("create a session for the refresh load: status %d: %v", status, err)
		}
		if err := w.keepRefreshToken(resp); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *worker) keepRefreshToken(body []byte) error {
	var g struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(body, &g); err != nil || g.RefreshToken == "" {
		return fmt.Errorf("no refresh_token in the answer: %v", err)
	}
	w.refresh = g.RefreshToken
	return nil
}

// do sends one request. Each mint is for a user of its own: identical
// requests would share a signature, and one user's repeated requests would
// meet the per-user rate limit, so neither would measure minting.
func (w *worker) do() (int, error) {
	switch w.o.endpoint {
	case "jwks":
		status, _, err := w.conn.roundTrip(w.jwks, false)
		return status, err
	case "tokens":
		w.minted++
		body := []byte(`{"user_id":"bench-` + strconv.Itoa(w.id) + "-" + strconv.Itoa(w.minted) + `"}`)
		req := buildRequest("POST", w.host, "/v1/tokens", map[string]string{
			"Authorization": "Bearer " + w.o.apiKey, "Content-Type": "application/json"}, body)
		status, _, err := w.conn.roundTrip(req, false)
		return status, err
	}
	req := buildRequest("POST", w.host, "/v1/sessions/refresh", map[string]string{"Authorization": "Bearer " + w.refresh}, nil)
	status, body, err := w.conn.roundTrip(req, true)
	if err == nil && status == 200 {
		err = w.keepRefreshToken(body)
	}
	return status, err
}

// load runs warm-up then a measured period at one concurrency (closed
// loop) or rate (open loop: latency counts from when a request was due, so
// a stalled server is not hidden by requests that were never sent).
func load(ctx context.Context, o options, progress io.Writer) (runResult, error) {
	workers := make([]*worker, o.concurrency)
	for i := range workers {
		var err error
		if workers[i], err = newWorker(o, i); err != nil {
			return runResult{}, err
		}
		defer workers[i].conn.close()
	}

	var (
		measuring atomic.Bool
		sent      atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		statuses  = map[string]int{}
	)
	ctx, cancel := context.WithTimeout(ctx, o.warmup+o.duration)
	defer cancel()
	var (
		due       chan time.Time
		interval  time.Duration
		origin    = time.Now()
		beganAt   atomic.Int64 // unix ns when measuring began
		lastTaken atomic.Int64 // unix ns of the latest due time a worker took
	)
	if o.rate > 0 {
		interval = time.Duration(float64(time.Second) / o.rate)
		due = make(chan time.Time, 1024)
		go schedule(ctx, origin, interval, due)
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			counts := map[string]int{}
			for ctx.Err() == nil {
				start := time.Now()
				if due != nil {
					select {
					case start = <-due:
						lastTaken.Store(start.UnixNano())
					case <-ctx.Done():
						continue
					}
				}
				status, err := w.do()
				if due != nil {
					// Open loop: a request belongs to the period it was due in,
					// and its latency counts even when it ends after the period
					// (its status does not: throughput is what the period saw).
					if !measuring.Load() || start.UnixNano() < beganAt.Load() {
						continue
					}
					mine = append(mine, time.Since(start))
					if ctx.Err() != nil {
						continue
					}
				} else {
					if ctx.Err() != nil || !measuring.Load() {
						continue
					}
					mine = append(mine, time.Since(start))
				}
				key := strconv.Itoa(status)
				if err != nil {
					key = "error"
				}
				counts[key]++
				sent.Add(1)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			for k, v := range counts {
				statuses[k] += v
			}
			mu.Unlock()
		}()
	}

	fmt.Fprintf(progress, "concurrency %d: warming up for %s…\n", o.concurrency, o.warmup)
	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
	}
	began := time.Now()
	beganAt.Store(began.UnixNano())
	measuring.Store(true)
	var use *serverUse
	var cpu0, self0, busy0 time.Duration
	self := serverProc{pid: os.Getpid(), root: o.server.rootOr()}
	if o.server != nil {
		var err error
		if cpu0, err = o.server.cpu(); err != nil {
			return runResult{}, err
		}
		self0, _ = self.cpu()
		busy0, _ = machineBusy(o.server.root)
		use = &serverUse{PID: o.server.pid}
	}
	sampleMemory := func() {
		if use == nil {
			return
		}
		if rss, hwm, err := o.server.memory(); err == nil {
			use.MaxRSSKiB, use.HWMKiB = max(use.MaxRSSKiB, rss), hwm
		}
	}
	tick := time.NewTicker(time.Second)
	for done := false; !done; {
		select {
		case <-tick.C:
			sampleMemory()
			fmt.Fprintf(progress, "\r  %4.0fs  %8d requests  %8.0f/s", time.Since(began).Seconds(), sent.Load(), float64(sent.Load())/time.Since(began).Seconds())
		case <-ctx.Done():
			done = true
		}
	}
	tick.Stop()
	end := time.Now()
	elapsed := end.Sub(began)
	var cpu1, self1, busy1 time.Duration
	if use != nil {
		sampleMemory()
		var err error
		if cpu1, err = o.server.cpu(); err != nil {
			return runResult{}, err
		}
		self1, _ = self.cpu()
		busy1, _ = machineBusy(o.server.root)
	}
	wg.Wait()
	fmt.Fprintln(progress)

	// Open loop: what was due in the period but never sent waited at least
	// until its end; leaving it out would hide a server that fell behind.
	unsent := 0
	if due != nil {
		last := origin
		if n := lastTaken.Load(); n != 0 {
			last = time.Unix(0, n)
		}
		for t := last.Add(interval); t.Before(end); t = t.Add(interval) {
			if !t.Before(began) {
				unsent++
				latencies = append(latencies, end.Sub(t))
			}
		}
	}

	slices.Sort(latencies)
	res := runResult{Concurrency: o.concurrency, Rate: o.rate, Requests: len(latencies) - unsent, Unsent: unsent,
		Statuses: statuses, Throughput: float64(statuses["200"]) / elapsed.Seconds()}
	if use != nil {
		if ok := statuses["200"]; ok > 0 {
			use.CPUPerOK = float64((cpu1 - cpu0).Microseconds()) / float64(ok)
		}
		use.Cores = (cpu1 - cpu0).Seconds() / elapsed.Seconds()
		use.LoadCores = (self1 - self0).Seconds() / elapsed.Seconds()
		if busy1 > 0 && busy0 > 0 {
			use.OtherCores = max(0, (busy1-busy0).Seconds()/elapsed.Seconds()-use.Cores-use.LoadCores)
		}
		res.Server = use
	}
	if n := len(latencies); n > 0 {
		pct := func(p float64) float64 { return ms(latencies[min(n-1, int(p*float64(n)))]) }
		res.P50, res.P90, res.P99, res.Max = pct(0.50), pct(0.90), pct(0.99), ms(latencies[n-1])
	}
	return res, nil
}

// schedule sends the due time of each request, one every interval from
// origin. The times are fixed in advance: when the workers fall behind,
// the times it sends are in the past, and latencies count from them.
func schedule(ctx context.Context, origin time.Time, interval time.Duration, due chan<- time.Time) {
	next := origin
	for {
		next = next.Add(interval)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		select {
		case due <- next:
		case <-ctx.Done():
			return
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
