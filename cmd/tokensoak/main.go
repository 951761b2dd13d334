// Command tokensoak runs tokensvc the way production does, for minutes:
// two replicas on one throw-away PostgreSQL database, mixed load from many
// users, operator key rotations, and one replica restarted halfway. It
// verifies every token it is given against a replica's JWKS, independently
// of the library that signed it, and reports what it minted, what failed
// and why, and the replicas' memory over time.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tokensvc/tokensvc/internal/scratchdb"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokensoak:", err)
		os.Exit(1)
	}
}

const usage = `Usage: tokensoak [flags]

Creates a throw-away PostgreSQL database, starts two tokensvc replicas on
it, and for --duration sends mixed load to both: mints (70%), login
sessions opened on one replica and refreshed on the other (20%, a quarter
of them logged out and checked dead) and JWKS fetches (10%). Every
--duration/4 it rotates the signing key (created on one replica, activated
on the other); at --duration/2 it stops one replica with SIGTERM and starts
it again. Every token is verified against a replica's JWKS with the
conformance verifier, and the first 200 are verified again at the end.
It exits 1 when a token failed verification, a request failed outside the
restart, or an end-of-run check failed.

Examples:
  go run ./cmd/tokensoak --duration 2m
  make build && go run ./cmd/tokensoak --binary bin/tokensvc --duration 10m --json

Flags:
`

type options struct {
	duration    time.Duration
	concurrency int
	users       int
	binary      string
	databaseURL string
	logDir      string
	sampleEvery time.Duration
	asJSON      bool
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokensoak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var o options
	defaultDB := getenv("TOKENSVC_TEST_DATABASE_URL")
	if defaultDB == "" {
		defaultDB = scratchdb.DefaultAdminURL
	}
	fs.DurationVar(&o.duration, "duration", 2*time.Minute, "how long to run the load")
	fs.IntVar(&o.concurrency, "concurrency", 8, "clients sending requests at once")
	fs.IntVar(&o.users, "users", 100000, "distinct user ids the load draws from")
	fs.StringVar(&o.binary, "binary", "", "tokensvc binary to run (default: go build ./cmd/tokensvc)")
	fs.StringVar(&o.databaseURL, "database-url", defaultDB, "PostgreSQL server to create the throw-away database on (TOKENSVC_TEST_DATABASE_URL)")
	fs.StringVar(&o.logDir, "log-dir", "", "where the replicas' logs go (default: a new temporary directory)")
	fs.DurationVar(&o.sampleEvery, "sample-every", 0, "how often to sample the replicas' RSS (default: --duration/12)")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected argument %q (see tokensoak --help)", fs.Arg(0))
	case o.duration < 4*time.Second:
		return errors.New("--duration must be at least 4s: it holds three rotations and a restart")
	case o.concurrency < 1 || o.users < 1:
		return errors.New("--concurrency and --users must be positive")
	}
	if o.sampleEvery <= 0 {
		o.sampleEvery = o.duration / 12
	}
	if o.logDir == "" {
		dir, err := os.MkdirTemp("", "tokensoak-")
		if err != nil {
			return err
		}
		o.logDir = dir
	}
	if o.binary == "" {
		o.binary = filepath.Join(o.logDir, "tokensvc")
		fmt.Fprintln(stderr, "building tokensvc…")
		build := exec.CommandContext(ctx, "go", "build", "-o", o.binary, "github.com/tokensvc/tokensvc/cmd/tokensvc")
		if out, err := build.CombinedOutput(); err != nil {
			return fmt.Errorf("go build ./cmd/tokensvc: %v\n%s", err, out)
		}
	}

	dbURL, drop, err := scratchdb.Create(ctx, o.databaseURL, "tokensoak_")
	if err != nil {
		return fmt.Errorf("the soak's database (--database-url): %w", err)
	}
	defer func() {
		if err := drop(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintln(stderr, "tokensoak:", err)
		}
	}()

	rep, err := soakRun(ctx, o, dbURL, stderr)
	if rep != nil {
		if o.asJSON {
			rep.writeJSON(stdout)
		} else {
			rep.writeText(stdout)
		}
	}
	if err != nil {
		return err
	}
	if problems := rep.problems(); len(problems) > 0 {
		return fmt.Errorf("the soak failed: %s (replica logs: %s)", strings.Join(problems, "; "), o.logDir)
	}
	return nil
}

// soakRun starts the replicas, runs the load, rotations and restart, and
// returns the report once both replicas have stopped.
func soakRun(ctx context.Context, o options, dbURL string, progress io.Writer) (*report, error) {
	adminKey, masterKey := "soak-admin-"+randomHex(24), make([]byte, 32)
	rand.Read(masterKey)
	env := []string{
		"TOKENSVC_DATABASE_URL=" + dbURL,
		"TOKENSVC_MASTER_KEY=" + base64.StdEncoding.EncodeToString(masterKey),
		"TOKENSVC_BOOTSTRAP_API_KEY=" + adminKey,
		"TOKENSVC_LOG_LEVEL=info",
		// Every simulated app refreshes from this one address: left on,
		// the per-client limit would measure itself instead of the service.
		"TOKENSVC_RATE_LIMIT_PER_CLIENT=off",
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 2 * o.concurrency, IdleConnTimeout: 30 * time.Second}}
	defer client.CloseIdleConnections()

	var replicas []*replica
	for _, name := range []string{"a", "b"} {
		r, err := newReplica(name, o.binary, env, filepath.Join(o.logDir, "replica-"+name+".log"))
		if err != nil {
			return nil, err
		}
		replicas = append(replicas, r)
	}
	// Both start at once on the empty database, as a fresh deployment's
	// replicas do, and must agree on one first key.
	startErrs := make([]error, len(replicas))
	var wg sync.WaitGroup
	for i, r := range replicas {
		wg.Go(func() { startErrs[i] = r.start(ctx, client, true) })
	}
	wg.Wait()
	defer func() {
		for _, r := range replicas {
			r.kill()
		}
	}()
	if err := errors.Join(startErrs...); err != nil {
		return nil, err
	}

	rep := &report{Duration: o.duration.String(), Concurrency: o.concurrency, Signer: replicas[0].signer()}
	s := &soak{replicas: replicas, http: client, adminKey: adminKey, tally: newTally(), users: o.users,
		check: newChecker(client, "uid", time.Hour)}
	var created struct{ Secret string }
	createdAt := time.Now()
	if !s.call(ctx, replicas[0], "POST", "/v1/apikeys", adminKey, map[string]string{"name": "soak", "scope": "issue"}, http.StatusCreated, &created) {
		return nil, fmt.Errorf("create the soak's API key: %s", strings.Join(s.tally.examples, "; "))
	}
	s.apiKey = created.Secret
	rep.APIKeyUsable = map[string]string{}
	for _, r := range replicas {
		took, err := s.usable(ctx, r, createdAt)
		if err != nil {
			return nil, err
		}
		rep.APIKeyUsable[r.name] = took.Round(time.Millisecond).String()
	}

	fmt.Fprintf(progress, "soak: %s, replicas %s and %s, logs in %s\n", o.duration, replicas[0].url, replicas[1].url, o.logDir)

	loadCtx, stopLoad := context.WithTimeout(ctx, o.duration)
	defer stopLoad()
	s.tally.started = time.Now()
	var load sync.WaitGroup
	for range o.concurrency {
		load.Go(func() { s.work(loadCtx) })
	}
	var events sync.WaitGroup
	events.Go(func() { s.rotations(loadCtx, o.duration/4) })
	events.Go(func() { rep.Restart = s.restart(loadCtx, replicas[1], o.duration/2, client) })
	events.Go(func() { rep.RSS = s.sampleRSS(loadCtx, o.sampleEvery, progress) })
	load.Wait()
	events.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.Elapsed = time.Since(s.tally.started).Round(time.Millisecond).String()

	s.finalChecks(context.WithoutCancel(ctx), rep)
	for _, r := range replicas {
		took, code, err := r.stop(30 * time.Second)
		rep.Stops = append(rep.Stops, stopResult{Replica: r.name, ExitCode: code, Took: took.Round(time.Millisecond).String(), Error: errString(err)})
	}
	rep.fill(s.tally, o.duration)
	return rep, nil
}

// rotations creates a key on one replica and activates it on the other
// every interval, as an operator with the admin API would.
func (s *soak) rotations(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a, b := s.pick()
		var k struct{ KID string }
		if !s.call(ctx, a, "POST", "/v1/keys", s.adminKey, nil, http.StatusCreated, &k) {
			a, b = b, a // a was just found down; the other one must do
			if !s.call(ctx, a, "POST", "/v1/keys", s.adminKey, nil, http.StatusCreated, &k) {
				continue
			}
		}
		// As the runbook says: the PEM is registered, the operator confirms
		// it, then activates; a key not confirmed would be refused.
		if !s.call(ctx, b, "POST", "/v1/keys/"+k.KID+"/confirm", s.adminKey, nil, http.StatusOK, nil) &&
			!s.call(ctx, a, "POST", "/v1/keys/"+k.KID+"/confirm", s.adminKey, nil, http.StatusOK, nil) {
			continue
		}
		var activated struct {
			Retired struct{ KID string }
		}
		if !s.call(ctx, b, "POST", "/v1/keys/"+k.KID+"/activate", s.adminKey, nil, http.StatusOK, &activated) {
			b = a
			if !s.call(ctx, b, "POST", "/v1/keys/"+k.KID+"/activate", s.adminKey, nil, http.StatusOK, &activated) {
				continue
			}
		}
		s.tally.mu.Lock()
		now := time.Now()
		s.tally.rotations = append(s.tally.rotations, rotation{At: now.Sub(s.tally.started).Round(time.Millisecond),
			KID: k.KID, Previous: activated.Retired.KID, CreatedOn: a.name, ActivatedOn: b.name, activated: now})
		s.tally.mu.Unlock()
	}
}

// usable waits until r accepts the soak's new API key and returns how long
// after since it did: the time its creation on another replica takes to
// reach r.
func (s *soak) usable(ctx context.Context, r *replica, since time.Time) (time.Duration, error) {
	for {
		req, _ := http.NewRequestWithContext(ctx, "POST", r.url+"/v1/tokens", strings.NewReader(`{"user_id":"soak-probe"}`))
		req.Header.Set("Authorization", "Bearer "+s.apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.http.Do(req)
		if err != nil {
			return 0, fmt.Errorf("replica %s: %w", r.name, err)
		}
		resp.Body.Close()
		took := time.Since(since)
		switch {
		case resp.StatusCode == http.StatusOK:
			return took, nil
		case resp.StatusCode != http.StatusUnauthorized:
			return 0, fmt.Errorf("replica %s answered %d to a mint with the new API key", r.name, resp.StatusCode)
		case took > 30*time.Second:
			return 0, fmt.Errorf("replica %s did not accept the new API key within 30s", r.name)
		}
		time.Sleep(time.Millisecond)
	}
}

// activeKID asks r which key signs now.
func (s *soak) activeKID(ctx context.Context, r *replica) string {
	var list struct{ Keys []struct{ KID, State string } }
	if !s.call(ctx, r, "GET", "/v1/keys", s.adminKey, nil, http.StatusOK, &list) {
		return ""
	}
	for _, k := range list.Keys {
		if k.State == "active" {
			return k.KID
		}
	}
	return ""
}

// restart stops r with SIGTERM after wait and starts it again.
func (s *soak) restart(ctx context.Context, r *replica, wait time.Duration, client *http.Client) *restartResult {
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(wait):
	}
	res := &restartResult{Replica: r.name, At: time.Since(s.tally.started).Round(time.Millisecond).String()}
	r.restarting.Store(true)
	defer r.restarting.Store(false)
	took, code, err := r.stop(30 * time.Second)
	res.ExitCode, res.StopTook = code, took.Round(time.Millisecond).String()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	began := time.Now()
	if err := r.start(context.WithoutCancel(ctx), client, false); err != nil {
		res.Error = err.Error()
		return res
	}
	res.StartTook = time.Since(began).Round(time.Millisecond).String()
	res.Downtime = (took + time.Since(began)).Round(time.Millisecond).String()
	return res
}

// sampleRSS reads each replica's RSS every interval and prints progress.
func (s *soak) sampleRSS(ctx context.Context, interval time.Duration, progress io.Writer) []rssSample {
	sample := func() rssSample {
		smp := rssSample{At: time.Since(s.tally.started).Round(time.Second).String(), MB: map[string]float64{}}
		for _, r := range s.replicas {
			smp.MB[r.name] = r.rssMB()
		}
		return smp
	}
	out := []rssSample{sample()}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return append(out, sample())
		case <-t.C:
		}
		smp := sample()
		out = append(out, smp)
		tokens, failures := s.tally.total()
		fmt.Fprintf(progress, "%8s  %d tokens verified, %d failures, RSS a %.0f MB b %.0f MB\n",
			smp.At, tokens, failures, smp.MB["a"], smp.MB["b"])
	}
}

// finalChecks verifies the tokens that could not be checked during the
// load and the first tokens of the run against both replicas' key sets
// fetched now, and checks the replicas agree on the keys.
func (s *soak) finalChecks(ctx context.Context, rep *report) {
	s.check.forget()
	t := s.tally
	recheck := func(toks []minted) (ok int) {
		for _, m := range toks {
			good := true
			for _, r := range s.replicas {
				err := s.check.check(ctx, r.url, m.Token, m.UserID, m.KID)
				var f *failure
				if errors.As(err, &f) {
					t.fail(f, m)
				}
				good = good && err == nil
			}
			if good {
				ok++
			}
		}
		return ok
	}
	rep.Unchecked = len(t.unchecked)
	rep.UncheckedVerified = recheck(t.unchecked)
	rep.Early = len(t.early)
	rep.EarlyVerified = recheck(t.early)

	sets := map[string]string{}
	for _, r := range s.replicas {
		kids, err := s.check.kids(ctx, r.url)
		if err != nil {
			rep.Checks = append(rep.Checks, fmt.Sprintf("JWKS of replica %s: %v", r.name, err))
			continue
		}
		sets[r.name] = strings.Join(kids, ",")
		rep.PublishedKeys = len(kids)
	}
	if sets["a"] != sets["b"] {
		rep.Checks = append(rep.Checks, fmt.Sprintf("the replicas publish different keys: a %s, b %s", sets["a"], sets["b"]))
	}
	a, b := s.activeKID(ctx, s.replicas[0]), s.activeKID(ctx, s.replicas[1])
	if a == "" || a != b {
		rep.Checks = append(rep.Checks, fmt.Sprintf("the replicas disagree on the active key: a %q, b %q", a, b))
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
