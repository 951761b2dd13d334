// Command tokenbench drives a running tokensvc with load and reports what it
// sustains, next to the raw RSA signing rate of the same machine, so that
// the figure says how close the service comes to the hardware's limit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tokenbench:", err)
		os.Exit(1)
	}
}

const usage = `Usage: tokenbench [flags]
       tokenbench --summary REPORT.json...

Sends mint (or refresh) requests to a running tokensvc at a fixed
concurrency, or at a fixed rate, for a duration; reports throughput,
latency percentiles and errors by status, and the server's CPU per answer
and memory, read from /proc for the server's process (--pid, or the one
listening on --url's port). Open loop (--rate), latency counts from when
each request was due, not when it was sent. --openssl runs openssl speed
on one core first, the signing time CPU per token is compared with; the
raw RSA signing rate of this binary's signer is measured unless
--skip-raw. --sweep runs several concurrencies and --svg draws throughput
and p99 against concurrency. --summary prints issue 19's table and goals
from the --json reports docs/perf/run.sh writes.

Examples:
  TOKENSVC_API_KEY=tks_... tokenbench --concurrency 8 --duration 20s
  tokenbench --pid 1234 --openssl --concurrency 8 --skip-raw
  tokenbench --rate 400 --concurrency 32 --duration 30s --json
  tokenbench --sweep 1,2,4,8,16,32 --duration 10s --svg docs/throughput.svg
  tokenbench --endpoint jwks --concurrency 16

Flags:
`

type options struct {
	url         string
	apiKey      string
	endpoint    string
	concurrency int
	rate        float64
	duration    time.Duration
	warmup      time.Duration
	bits        int
	sweep       []int
	svg         string
	asJSON      bool
	skipRaw     bool
	label       string
	pid         int
	openssl     bool
	opensslSecs int
	// server reads the server's CPU and memory; nil when its pid is unknown.
	server *serverProc
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tokenbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var o options
	var sweep string
	fs.StringVar(&o.url, "url", envOr(getenv, "TOKENSVC_URL", tokenclient.DefaultURL), "tokensvc base URL (TOKENSVC_URL)")
	fs.StringVar(&o.apiKey, "api-key", getenv("TOKENSVC_API_KEY"), "API key of scope issue (TOKENSVC_API_KEY)")
	fs.StringVar(&o.endpoint, "endpoint", "tokens", "what to load: tokens (POST /v1/tokens), refresh (POST /v1/sessions/refresh) or jwks")
	fs.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at once (closed loop)")
	fs.Float64Var(&o.rate, "rate", 0, "requests per second to send, open loop (0: as fast as the concurrency allows)")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long to measure")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load sent before measuring")
	fs.IntVar(&o.bits, "bits", 2048, "RSA key size for the raw signing rate")
	fs.StringVar(&sweep, "sweep", "", "comma-separated concurrencies to run one after another")
	fs.StringVar(&o.svg, "svg", "", "with --sweep: write a chart of throughput and p99 against concurrency to this file")
	fs.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	fs.BoolVar(&o.skipRaw, "skip-raw", false, "do not measure the raw signing rate")
	fs.StringVar(&o.label, "label", "", "name of the server measured, kept in the report (run.sh's table reads it)")
	fs.IntVar(&o.pid, "pid", 0, "the server's process id, for its CPU per token and memory from /proc (0: the process listening on --url's port; -1: do not measure)")
	fs.BoolVar(&o.openssl, "openssl", false, "also run `openssl speed -multi 1 rsa2048` first, while the server is idle: one core's signing time")
	fs.IntVar(&o.opensslSecs, "openssl-seconds", 5, "with --openssl: seconds per openssl speed test")
	summary := fs.Bool("summary", false, "read the JSON reports named as arguments and print issue 19's table and goals")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *summary {
		return summarize(fs.Args(), stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (see tokenbench --help)", fs.Arg(0))
	}
	for _, f := range strings.Split(sweep, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return fmt.Errorf("--sweep: %q is not a concurrency", f)
		}
		o.sweep = append(o.sweep, n)
	}
	switch {
	case o.endpoint != "tokens" && o.endpoint != "refresh" && o.endpoint != "jwks":
		return fmt.Errorf("--endpoint must be tokens, refresh or jwks, not %q", o.endpoint)
	case o.endpoint != "jwks" && o.apiKey == "":
		return errors.New("an API key is needed: set TOKENSVC_API_KEY or --api-key")
	case o.concurrency < 1 || o.duration <= 0:
		return errors.New("--concurrency and --duration must be positive")
	case o.svg != "" && len(o.sweep) == 0:
		return errors.New("--svg needs --sweep")
	}
	o.url = strings.TrimRight(o.url, "/")

	progress := stderr
	if o.asJSON {
		progress = io.Discard
	}
	rep := report{Label: o.label, URL: o.url, Endpoint: o.endpoint, Duration: o.duration.String()}
	if err := o.findServer(progress); err != nil {
		return err
	}
	if o.openssl {
		fmt.Fprintf(progress, "openssl speed rsa2048 on one core, %ds per test…\n", o.opensslSecs)
		s, err := runOpensslSpeed(ctx, o.opensslSecs)
		if err != nil {
			return err
		}
		rep.OpenSSL = &s
	}
	levels := o.sweep
	if len(levels) == 0 {
		levels = []int{o.concurrency}
	}
	for _, c := range levels {
		o.concurrency = c
		res, err := load(ctx, o, progress)
		if err != nil {
			return err
		}
		rep.Runs = append(rep.Runs, res)
	}
	if !o.skipRaw && o.endpoint != "jwks" {
		fmt.Fprintf(progress, "measuring the raw RSA-%d signing rate on %d cores…\n", o.bits, coresUsed())
		raw, err := rawSignRate(ctx, o.bits, 3*time.Second)
		if err != nil {
			return err
		}
		rep.RawSign = &raw
		for i := range rep.Runs {
			rep.Runs[i].RatioToRaw = rep.Runs[i].Throughput / raw.PerSecond
		}
	}
	if o.svg != "" {
		if err := os.WriteFile(o.svg, chart(rep), 0o644); err != nil {
			return fmt.Errorf("--svg: %w", err)
		}
	}
	if o.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.print(stdout)
	return nil
}

// findServer sets o.server from --pid, or from the process listening on
// --url's port. A server found nowhere (another machine, another user's
// process) is measured without its CPU, and says so.
func (o *options) findServer(progress io.Writer) error {
	if o.pid < 0 {
		return nil
	}
	if o.pid > 0 {
		o.server = &serverProc{pid: o.pid, root: "/proc"}
		if _, err := o.server.cpu(); err != nil {
			return fmt.Errorf("--pid %d: %w", o.pid, err)
		}
		return nil
	}
	u, err := url.Parse(o.url)
	if err != nil {
		return fmt.Errorf("--url %q: %w", o.url, err)
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		fmt.Fprintf(progress, "no port in %s: server CPU not measured (give --pid)\n", o.url)
		return nil
	}
	pid, err := findListener("/proc", port)
	if err != nil {
		fmt.Fprintf(progress, "server CPU not measured: %v\n", err)
		return nil
	}
	o.server = &serverProc{pid: pid, root: "/proc"}
	return nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}
