package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tokensvc/tokensvc/tokenclient"
)

const keysHelp = `Usage: tokensvc keys <list|create|import --pem FILE|confirm KID|activate KID|revoke KID|pem KID> [--json] [--force]

Manages the signing keys of a running tokensvc through its admin API, at
TOKENSVC_URL (default http://127.0.0.1:8080) with the admin API key in
TOKENSVC_API_KEY.

  list          every key, its state, and what to do in the MoEngage dashboard
  create        create the next key now (pending: published, not signing)
  import --pem FILE [--registered]
                bring in an RSA private key made elsewhere (PEM, PKCS #1 or
                #8, 2048 to 4096 bits) as the pending key; --registered: it
                is in the MoEngage dashboard already. The key is sent to the
                service: over plain http:// only to a loopback address,
                unless --insecure-transport
  confirm KID   record that KID's PEM is saved in the dashboard
  activate KID  make the pending key KID sign; the active key retires. A key
                not confirmed is refused (MoEngage would refuse its tokens);
                --force activates it anyway
  revoke KID    emergency: stop publishing KID at once (a leaked key)
  pem KID       print KID's public key, to paste into the dashboard

A scheduled rotation, step by step:
  tokensvc keys list                      # the pending key says dashboard=add
  tokensvc keys pem KID                   # paste it in Settings › Account ›
                                          #   Security › SDK Authentication
  tokensvc keys confirm KID               # once it is saved there
  tokensvc keys activate KID
  tokensvc keys list                      # remove keys that say dashboard=remove
`

func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("keys", keysHelp, stdout)
	asJSON := fs.Bool("json", false, "print the service's JSON answer")
	force := fs.Bool("force", false, "activate: even though nobody confirmed the key is in the dashboard")
	pemFile := fs.String("pem", "", "import: the file holding the RSA private key, PEM")
	registered := fs.Bool("registered", false, "import: the key is in the MoEngage dashboard already")
	insecure := fs.Bool("insecure-transport", false, "import: send the private key over plain http:// to a host that is not this one")
	pos, ok, err := parseInterspersed(fs, args)
	if !ok {
		return err
	}
	var sub, kid string
	switch len(pos) {
	case 2:
		sub, kid = pos[0], pos[1]
	case 1:
		sub = pos[0]
	case 0:
	default:
		return usageError{fmt.Sprintf("keys: unexpected argument %q", pos[2])}
	}
	needKID := map[string]bool{"confirm": true, "activate": true, "revoke": true, "pem": true}
	importFlags := *pemFile != "" || *registered || *insecure
	switch {
	case sub == "":
		return usageError{"keys: say what to do: list, create, import --pem FILE, confirm KID, activate KID, revoke KID or pem KID (see tokensvc keys --help)"}
	case !needKID[sub] && sub != "list" && sub != "create" && sub != "import":
		return usageError{fmt.Sprintf("keys: unknown action %q (list, create, import, confirm, activate, revoke, pem)", sub)}
	case *force && sub != "activate":
		return usageError{fmt.Sprintf("keys %s: --force is for activate only", sub)}
	case importFlags && sub != "import":
		return usageError{fmt.Sprintf("keys %s: --pem, --registered and --insecure-transport are for import only", sub)}
	case sub == "import" && *pemFile == "":
		return usageError{"keys import: which key? give the file holding it: --pem FILE"}
	case needKID[sub] && kid == "":
		return usageError{fmt.Sprintf("keys %s: which key? give its KID (tokensvc keys list shows them)", sub)}
	case !needKID[sub] && kid != "":
		return usageError{fmt.Sprintf("keys %s: unexpected argument %q", sub, kid)}
	}
	c, err := connect(getenv)
	if err != nil {
		return err
	}
	if sub == "import" {
		return importKey(ctx, c, *pemFile, *registered, *insecure, *asJSON, stdout)
	}
	answer, err := keysAction(ctx, c.admin(), sub, kid, *force)
	if err != nil {
		return c.explain(err)
	}
	if *asJSON && sub != "pem" {
		return printJSON(stdout, answer)
	}
	switch a := answer.(type) {
	case keyList:
		return printKeys(stdout, a.Keys)
	case []byte:
		_, err = stdout.Write(a)
		return err
	case tokenclient.Key:
		if sub == "create" {
			fmt.Fprintf(stdout, "created pending key %s\n\nNext:\n  1. tokensvc keys pem %s   and paste it in the MoEngage dashboard\n  2. tokensvc keys confirm %s\n  3. tokensvc keys activate %s\n", a.KID, a.KID, a.KID, a.KID)
			return nil
		}
		fmt.Fprintf(stdout, "%s confirmed in the dashboard at %s by %s; dashboard=%s\n", a.KID, formatTime(a.RegisteredAt), deref(a.RegisteredBy), a.Dashboard)
		if a.State == "pending" {
			fmt.Fprintf(stdout, "\nNext: tokensvc keys activate %s\n", a.KID)
		}
		return nil
	case tokenclient.Activation:
		fmt.Fprintf(stdout, "%s now signs\n", a.Activated.KID)
		if a.Activated.Dashboard == "add" {
			fmt.Fprintf(stdout, "nobody confirmed %s is in the MoEngage dashboard, which refuses its tokens until it is: register its PEM now (tokensvc keys pem %s), then tokensvc keys confirm %s\n",
				a.Activated.KID, a.Activated.KID, a.Activated.KID)
		}
		if a.Retired != nil {
			fmt.Fprintf(stdout, "%s retired; keep it in the dashboard until %s, when its last token has expired\n",
				a.Retired.KID, formatTime(a.Retired.PublishUntil))
		}
		return nil
	case tokenclient.Revocation:
		fmt.Fprintf(stdout, "%s revoked: no longer published\n", a.Revoked.KID)
		if a.Replacement != nil {
			fmt.Fprintf(stdout, "%s now signs\n", a.Replacement.KID)
		}
		fmt.Fprintln(stdout, a.Action)
	}
	return nil
}

// keyList is the answer to keys list, shaped as the service's.
type keyList struct {
	Keys []tokenclient.Key `json:"keys"`
}

// keysAction runs sub through the admin API and returns its answer.
func keysAction(ctx context.Context, admin *tokenclient.Admin, sub, kid string, force bool) (any, error) {
	switch sub {
	case "list":
		ks, err := admin.Keys(ctx)
		return keyList{Keys: ks}, err
	case "create":
		return admin.CreateKey(ctx)
	case "confirm":
		return admin.ConfirmKey(ctx, kid)
	case "activate":
		return admin.ActivateKey(ctx, kid, force)
	case "revoke":
		return admin.RevokeKey(ctx, kid)
	default: // pem; the caller checked sub
		return admin.KeyPEM(ctx, kid)
	}
}

// printJSON prints an answer as the service's JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// formatTime is t in RFC 3339, or nothing when there is no t.
func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func printKeys(w io.Writer, ks []tokenclient.Key) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tALG\tBITS\tDASHBOARD\tREGISTERED\tCREATED\tPUBLISHED UNTIL")
	for _, k := range ks {
		until, registered := formatTime(k.PublishUntil), "no"
		if k.RegisteredAt != nil {
			registered = formatTime(k.RegisteredAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", k.KID, k.State, k.Alg, k.Bits, k.Dashboard, registered, k.CreatedAt.Format(time.RFC3339), until)
	}
	return tw.Flush()
}
