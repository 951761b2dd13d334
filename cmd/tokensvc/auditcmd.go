package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
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

func auditCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("audit", auditHelp, stdout)
	limit := fs.Int("limit", 100, "how many entries, 1 to 1000")
	before := fs.String("before", "", "only entries older than this RFC 3339 `TIME`")
	asJSON := fs.Bool("json", false, "print the service's JSON answer")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *limit < 1 {
		// AuditQuery's 0 is the service's default page, not an empty one.
		return usageError{fmt.Sprintf("audit: --limit %d: give 1 to 1000", *limit)}
	}
	q := tokenclient.AuditQuery{Limit: *limit}
	if *before != "" {
		t, err := time.Parse(time.RFC3339Nano, *before)
		if err != nil {
			return usageError{fmt.Sprintf("audit: --before %q is not an RFC 3339 time, such as 2026-03-01T00:00:00Z", *before)}
		}
		q.Before = t
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	out, err := c.admin().Audit(ctx, q)
	if err != nil {
		return c.explain(err)
	}
	if *asJSON {
		return printJSON(stdout, out)
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
