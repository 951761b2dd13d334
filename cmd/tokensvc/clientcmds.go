package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/tokenclient"
)

const tokenHelp = `Usage: tokensvc token --user ID [--ttl DURATION]

Mints a token for a user from the running service (TOKENSVC_URL, default
http://127.0.0.1:8080, with an API key in TOKENSVC_API_KEY) and prints it:
handy for trying MoEngage's JWT authentication by hand.

Examples:
  tokensvc token --user user-42
  tokensvc token --user user-42 --ttl 10m | tokensvc verify --user user-42 -
`

func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("token", tokenHelp, stdout)
	user := fs.String("user", "", "the user `ID` the token is for (required)")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 10m (default: the service's TOKENSVC_TOKEN_TTL)")
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	if *user == "" {
		return usageError{"token: --user is required (the user the token is for)"}
	}
	if *ttl < 0 || *ttl%time.Second != 0 {
		return usageError{"token: --ttl must be a positive whole number of seconds, e.g. 10m"}
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	tok, err := c.backend().Mint(ctx, *user, *ttl)
	if err != nil {
		return c.explain(err)
	}
	_, err = fmt.Fprintln(stdout, tok.Token)
	return err
}

const apikeyHelp = `Usage: tokensvc apikey <create --name NAME [--scope issue|admin] [--expires-in D | --expires-at T] [--offline] | list | revoke ID> [--json]

Manages API keys through the running service's admin API (TOKENSVC_URL,
default http://127.0.0.1:8080, with an admin key in TOKENSVC_API_KEY).

  create   make a key; its secret is printed once and kept nowhere. With
           --expires-in (90d, 36h) or --expires-at (RFC 3339) it stops
           working then, as if revoked; an apikey.expiring event comes a
           week before
  list     every key: id, name, scope, first characters, created, expires,
           last used (written by each replica at most once a minute), revoked
  revoke   stop a key from working (other replicas follow within 10 s);
           the last usable admin key cannot be revoked: create another first

Break-glass, when no admin key is left: create --scope admin --offline
writes an admin key straight into the store, without the service's API. It
needs the service's own configuration: TOKENSVC_DATABASE_URL and the master
key, or TOKENSVC_DATA_DIR (and the master key, if it is not in the data dir)
with the service stopped. The master key must open the stored keys. The
audit log records the key as created by "offline".

Examples:
  tokensvc apikey create --name "ios backend" --scope issue
  tokensvc apikey create --name "partner sandbox" --scope issue --expires-in 90d
  tokensvc apikey revoke ak_mfrggzdfmztwq2lk
  tokensvc apikey create --name "break-glass 2026-03-01" --scope admin --offline
`

// apiKeyList is the answer to apikey list, shaped as the service's.
type apiKeyList struct {
	APIKeys []tokenclient.APIKey `json:"api_keys"`
}

func apikeyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("apikey", apikeyHelp, stdout)
	name := fs.String("name", "", "what the key is for (create)")
	scope := fs.String("scope", "issue", "issue (mint tokens) or admin (also manage keys) (create)")
	expiresIn := fs.String("expires-in", "", "the key stops working after this `duration`: 90d, 36h, 90m (create)")
	expiresAt := fs.String("expires-at", "", "the key stops working at this RFC 3339 `time`, e.g. 2027-03-01T00:00:00Z (create)")
	offline := fs.Bool("offline", false, "break-glass: write an admin key straight into the store (create --scope admin)")
	asJSON := fs.Bool("json", false, "print the service's JSON answer (create, list)")
	pos, ok, err := parseInterspersed(fs, args)
	if !ok {
		return err
	}
	if len(pos) == 0 {
		return usageError{"apikey: say what to do: create, list or revoke ID (see tokensvc apikey --help)"}
	}
	want := map[string]int{"create": 1, "list": 1, "revoke": 2}[pos[0]]
	switch {
	case want == 0:
		return usageError{fmt.Sprintf("apikey: unknown action %q (create, list, revoke)", pos[0])}
	case len(pos) < want:
		return usageError{"apikey revoke: which key? give its ID (tokensvc apikey list shows them)"}
	case len(pos) > want:
		return usageError{fmt.Sprintf("apikey %s: unexpected argument %q", pos[0], pos[want])}
	case pos[0] == "create" && *name == "":
		return usageError{"apikey create: --name is required (say what the key is for)"}
	case pos[0] != "create" && (*expiresIn != "" || *expiresAt != ""):
		return usageError{"apikey " + pos[0] + ": --expires-in and --expires-at are for create only"}
	case *expiresIn != "" && *expiresAt != "":
		return usageError{"apikey create: give --expires-in or --expires-at, not both"}
	case *offline && (*expiresIn != "" || *expiresAt != ""):
		return usageError{"apikey create --offline: a break-glass key does not expire; revoke it once administration is back"}
	case *offline && pos[0] != "create":
		return usageError{"apikey " + pos[0] + ": --offline is for create only"}
	case *offline && *scope != string(apikey.ScopeAdmin):
		return usageError{"apikey create --offline: it makes admin keys only, to get administration back: add --scope admin"}
	case *offline:
		return createOfflineAdminKey(ctx, *name, getenv, stdout, stderr)
	}
	expires, err := expiryFlags(*expiresIn, *expiresAt, time.Now())
	if err != nil {
		return err
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	admin := c.admin()
	switch pos[0] {
	case "create":
		k, err := admin.CreateAPIKeyWith(ctx, tokenclient.NewAPIKey{Name: *name, Scope: *scope, ExpiresAt: expires})
		if err != nil {
			return c.explain(err)
		}
		if *asJSON {
			return printJSON(stdout, k)
		}
		expiry := ""
		if k.ExpiresAt != nil {
			expiry = ", expires " + k.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "created %s (%s, scope %s%s). The secret is shown only now:\n\n    %s\n", k.ID, k.Name, k.Scope, expiry, k.Secret)
	case "list":
		ks, err := admin.APIKeys(ctx)
		if err != nil {
			return c.explain(err)
		}
		if *asJSON {
			return printJSON(stdout, apiKeyList{APIKeys: ks})
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tSTARTS WITH\tCREATED\tEXPIRES\tLAST USED\tREVOKED")
		for _, k := range ks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Scope, k.Hint, k.CreatedAt.Format(time.RFC3339),
				orNone(k.ExpiresAt, "never"), orNone(k.LastUsedAt, "never"), orNone(k.RevokedAt, ""))
		}
		return tw.Flush()
	case "revoke":
		if err := admin.RevokeAPIKey(ctx, pos[1]); err != nil {
			return c.explain(err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", pos[1])
	}
	return nil
}

// orNone is t in RFC 3339, or none when t is nil.
func orNone(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

// expiryFlags is the expiry apikey create's --expires-in or --expires-at
// give, from now; the zero time for neither. The service refuses one that
// is not in the future, so that is left to it.
func expiryFlags(in, at string, now time.Time) (time.Time, error) {
	switch {
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return time.Time{}, usageError{"apikey create: --expires-at must be an RFC 3339 time, such as 2027-03-01T00:00:00Z"}
		}
		return t, nil
	case in != "":
		d, err := parseExpiresIn(in)
		if err != nil {
			return time.Time{}, usageError{"apikey create: --expires-in " + err.Error()}
		}
		return now.Add(d), nil
	}
	return time.Time{}, nil
}

// parseExpiresIn reads a positive duration in days ("90d") or as Go
// writes one ("36h", "90m").
func parseExpiresIn(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("must be a whole number of days (90d) or a duration (36h), not %q", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("must be a whole number of days (90d) or a duration (36h), not %q", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("must be positive, not %q", s)
	}
	return d, nil
}
