package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what the soak found.
type report struct {
	Duration    string `json:"duration"`
	Elapsed     string `json:"elapsed"`
	Concurrency int    `json:"concurrency"`
	Signer      string `json:"signer"`
	// APIKeyUsable is how long after its creation on replica a the soak's
	// API key was accepted by each replica.
	APIKeyUsable map[string]string `json:"api_key_usable_after"`

	// Verified counts the tokens that verified, by how they were obtained:
	// mint, session (login) or refresh.
	Verified map[string]int `json:"verified"`
	// Logouts counts sessions whose refresh token was refused after logout.
	Logouts       int            `json:"logouts_checked"`
	Tokens        int            `json:"tokens_verified"`
	PerSecond     float64        `json:"tokens_per_second"`
	JWKSFetches   int            `json:"jwks_fetches"`
	Failures      map[string]int `json:"verification_failures"`
	FailureCount  int            `json:"verification_failure_count"`
	KeysUsed      int            `json:"signing_keys_used"`
	PublishedKeys int            `json:"published_keys_at_end"`
	Rotations     []rotation     `json:"rotations"`
	// StaleSigning is, per replica, the longest it went on signing with
	// the previous key after a rotation was activated on another replica.
	StaleSigning map[string]string `json:"stale_signing"`

	// Errors are requests that did not get the expected answer, by kind,
	// apart for those sent to the replica being restarted meanwhile.
	Errors            map[string]map[string]int `json:"errors"`
	Restart           *restartResult            `json:"restart"`
	Stops             []stopResult              `json:"stops"`
	Early             int                       `json:"early_tokens"`
	EarlyVerified     int                       `json:"early_tokens_verified_at_end"`
	Unchecked         int                       `json:"unchecked_during_load"`
	UncheckedVerified int                       `json:"unchecked_verified_at_end"`
	Checks            []string                  `json:"failed_checks,omitempty"`
	Examples          []string                  `json:"examples,omitempty"`
	RSS               []rssSample               `json:"rss_mb"`
}

type restartResult struct {
	Replica   string `json:"replica"`
	At        string `json:"at"`
	ExitCode  int    `json:"exit_code"`
	StopTook  string `json:"stop_took"`
	StartTook string `json:"start_took,omitempty"`
	Downtime  string `json:"downtime,omitempty"`
	Error     string `json:"error,omitempty"`
}

type stopResult struct {
	Replica  string `json:"replica"`
	ExitCode int    `json:"exit_code"`
	Took     string `json:"took"`
	Error    string `json:"error,omitempty"`
}

type rssSample struct {
	At string             `json:"at"`
	MB map[string]float64 `json:"mb"`
}

// fill copies the tally into the report.
func (r *report) fill(t *tally, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r.Verified = maps.Clone(t.ops)
	r.Tokens = sum(t.ops)
	r.Logouts = t.logouts
	r.PerSecond = float64(r.Tokens) / d.Seconds()
	r.JWKSFetches = t.jwks
	r.Failures = maps.Clone(t.failures)
	r.FailureCount = sum(t.failures)
	r.KeysUsed = len(t.kids)
	r.Rotations = slices.Clone(t.rotations)
	r.StaleSigning = map[string]string{}
	for name, d := range t.stale {
		r.StaleSigning[name] = d.Round(100 * time.Microsecond).String()
	}
	r.Errors = map[string]map[string]int{}
	for w, kinds := range t.errors {
		r.Errors[w] = maps.Clone(kinds)
	}
	r.Examples = slices.Clone(t.examples)
}

// problems lists what makes the soak a failure: a token that did not
// verify, a request that failed while no replica was being restarted, a
// restart or stop that went wrong, a failed end-of-run check.
func (r *report) problems() []string {
	var out []string
	if r.FailureCount > 0 {
		out = append(out, fmt.Sprintf("%d tokens failed verification", r.FailureCount))
	}
	if n := sum(r.Errors[windowSteady]); n > 0 {
		out = append(out, fmt.Sprintf("%d requests failed outside the restart", n))
	}
	if r.Tokens == 0 {
		out = append(out, "no token was minted")
	}
	if len(r.Rotations) < 3 {
		out = append(out, fmt.Sprintf("%d rotations were made, want 3", len(r.Rotations)))
	}
	switch {
	case r.Restart == nil:
		out = append(out, "the replica was not restarted")
	case r.Restart.Error != "" || r.Restart.ExitCode != 0:
		out = append(out, fmt.Sprintf("the restart of replica %s: exit code %d %s", r.Restart.Replica, r.Restart.ExitCode, r.Restart.Error))
	}
	for _, s := range r.Stops {
		if s.Error != "" || s.ExitCode != 0 {
			out = append(out, fmt.Sprintf("replica %s stopped with exit code %d %s", s.Replica, s.ExitCode, s.Error))
		}
	}
	if r.EarlyVerified != r.Early {
		out = append(out, fmt.Sprintf("%d of the first %d tokens no longer verify", r.Early-r.EarlyVerified, r.Early))
	}
	if r.UncheckedVerified != r.Unchecked {
		out = append(out, fmt.Sprintf("%d tokens could not be verified", r.Unchecked-r.UncheckedVerified))
	}
	return append(out, r.Checks...)
}

func sum(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func (r *report) writeJSON(w io.Writer) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(r)
}

func (r *report) writeText(w io.Writer) {
	fmt.Fprintf(w, "tokensvc soak: %s (%s), 2 replicas on PostgreSQL, %d clients, signer %s\n\n", r.Duration, r.Elapsed, r.Concurrency, orDash(r.Signer))
	fmt.Fprintf(w, "new API key accepted     %s\n", perReplica(r.APIKeyUsable))
	fmt.Fprintf(w, "tokens verified          %d (%.0f/s): %s\n", r.Tokens, r.PerSecond, counts(r.Verified))
	fmt.Fprintf(w, "verification failures    %d %s\n", r.FailureCount, counts(r.Failures))
	fmt.Fprintf(w, "logouts checked          %d (the refresh token refused after logout)\n", r.Logouts)
	fmt.Fprintf(w, "JWKS fetches             %d\n", r.JWKSFetches)
	fmt.Fprintf(w, "signing keys used        %d, %d published at the end\n", r.KeysUsed, r.PublishedKeys)
	for _, rot := range r.Rotations {
		fmt.Fprintf(w, "rotation at %-12s %s created on %s, activated on %s (was %s)\n", rot.At, rot.KID, rot.CreatedOn, rot.ActivatedOn, orDash(rot.Previous))
	}
	fmt.Fprintf(w, "retired key still signed %s after the activation (longest)\n", orDash(perReplica(r.StaleSigning)))
	if rs := r.Restart; rs != nil {
		fmt.Fprintf(w, "restart of replica %s    SIGTERM at %s, exited %d after %s, ready %s later (down %s) %s\n",
			rs.Replica, rs.At, rs.ExitCode, rs.StopTook, orDash(rs.StartTook), orDash(rs.Downtime), rs.Error)
	}
	for _, win := range []string{windowRestart, windowSteady} {
		fmt.Fprintf(w, "errors %-17s %d %s\n", win, sum(r.Errors[win]), counts(r.Errors[win]))
	}
	fmt.Fprintf(w, "first tokens at the end  %d of %d verify\n", r.EarlyVerified, r.Early)
	if r.Unchecked > 0 {
		fmt.Fprintf(w, "checked at the end       %d of %d (their replica was down)\n", r.UncheckedVerified, r.Unchecked)
	}
	for _, s := range r.Stops {
		fmt.Fprintf(w, "stop of replica %s        exit %d after %s %s\n", s.Replica, s.ExitCode, s.Took, s.Error)
	}
	fmt.Fprintln(w, "\nRSS (MB)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "at\ta\tb\t")
	for _, s := range r.RSS {
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t\n", s.At, s.MB["a"], s.MB["b"])
	}
	tw.Flush()
	for _, c := range r.Checks {
		fmt.Fprintln(w, "FAILED CHECK:", c)
	}
	if len(r.Examples) > 0 {
		fmt.Fprintln(w, "\nfirst failures and errors:")
		for _, e := range r.Examples {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

func counts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func perReplica(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, "replica "+k+" "+m[k])
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
