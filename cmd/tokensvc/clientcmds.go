package main

import (
	"context"
	"fmt"
	"io"
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

const apikeyHelp = `Usage: tokensvc apikey <create --name NAME [--scope issue|admin] [--offline] | list | revoke ID> [--json]

Manages API keys through the running service's admin API (TOKENSVC_URL,
default http://127.0.0.1:8080, with an admin key in TOKENSVC_API_KEY).

  create   make a key; its secret is printed once and kept nowhere
  list     every key: id, name, scope, first characters, created, revoked
  revoke   stop a key from working (other replicas follow within 10 s);
           the last admin key cannot be revoked: create another first

Break-glass, when no admin key is left: create --scope admin --offline
writes an admin key straight into the store, without the service's API. It
needs the service's own configuration: TOKENSVC_DATABASE_URL and the master
key, or TOKENSVC_DATA_DIR (and the master key, if it is not in the data dir)
with the service stopped. The master key must open the stored keys. The
audit log records the key as created by "offline".

Examples:
  tokensvc apikey create --name "ios backend" --scope issue
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
	case *offline && pos[0] != "create":
		return usageError{"apikey " + pos[0] + ": --offline is for create only"}
	case *offline && *scope != string(apikey.ScopeAdmin):
		return usageError{"apikey create --offline: it makes admin keys only, to get administration back: add --scope admin"}
	case *offline:
		return createOfflineAdminKey(ctx, *name, getenv, stdout, stderr)
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	admin := c.admin()
	switch pos[0] {
	case "create":
		k, err := admin.CreateAPIKey(ctx, *name, *scope)
		if err != nil {
			return c.explain(err)
		}
		if *asJSON {
			return printJSON(stdout, k)
		}
		fmt.Fprintf(stdout, "created %s (%s, scope %s). The secret is shown only now:\n\n    %s\n", k.ID, k.Name, k.Scope, k.Secret)
	case "list":
		ks, err := admin.APIKeys(ctx)
		if err != nil {
			return c.explain(err)
		}
		if *asJSON {
			return printJSON(stdout, apiKeyList{APIKeys: ks})
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tSTARTS WITH\tCREATED\tREVOKED")
		for _, k := range ks {
			revoked := ""
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Name, k.Scope, k.Hint, k.CreatedAt.Format(time.RFC3339), revoked)
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
