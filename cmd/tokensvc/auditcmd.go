package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"
)

const auditHelp = `Usage: tokensvc audit [--limit N] [--before TIME] [--json]

Prints the audit log of a running tokensvc, newest first, through its admin
API (TOKENSVC_URL, default http://127.0.0.1:8080, with an admin API key in
TOKENSVC_API_KEY): every API key created or revoked, every signing key
created, activated, retired, expired or revoked, every user's sessions
ended by a backend, with who did it (an API key, the scheduler, or an
offline command), when, the outcome and the request id.

Examples:
  tokensvc audit
  tokensvc audit --limit 20 --before 2026-03-01T00:00:00Z
  tokensvc audit --json | jq '.entries[] | select(.actor.kind == "offline")'
`

type auditEntryInfo struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Actor struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"actor"`
	Action    string `json:"action"`
	Target    string `json:"target"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id"`
}

func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("audit", auditHelp, stdout)
	limit := fs.Int("limit", 100, "how many entries, 1 to 1000")
	before := fs.String("before", "", "only entries older than this RFC 3339 `TIME`")
	asJSON := fs.Bool("json", false, "print the service's JSON answer")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *before != "" {
		if _, err := time.Parse(time.RFC3339Nano, *before); err != nil {
			return usageError{fmt.Sprintf("audit: --before %q is not an RFC 3339 time, such as 2026-03-01T00:00:00Z", *before)}
		}
		q.Set("before", *before)
	}
	c, err := newAPIClient(getenv)
	if err != nil {
		return err
	}
	path := "/v1/audit?" + q.Encode()
	if *asJSON {
		raw, err := c.raw(ctx, "GET", path, nil)
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	var out struct {
		Entries    []auditEntryInfo `json:"entries"`
		NextBefore *time.Time       `json:"next_before"`
	}
	if err := c.call(ctx, "GET", path, nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tACTOR\tACTION\tTARGET\tOUTCOME\tREQUEST ID")
	for _, e := range out.Entries {
		actor := e.Actor.Kind
		if e.Actor.ID != "" {
			actor = e.Actor.ID + " (" + e.Actor.Name + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), actor, e.Action, e.Target, e.Outcome, e.RequestID)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if out.NextBefore != nil {
		fmt.Fprintf(stdout, "\nOlder entries: tokensvc audit --limit %d --before %s\n", *limit, out.NextBefore.Format(time.RFC3339Nano))
	}
	return nil
}
