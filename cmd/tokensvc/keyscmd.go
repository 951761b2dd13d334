package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"
	"time"
)

const keysHelp = `Usage: tokensvc keys <list|create|confirm KID|activate KID|revoke KID|pem KID> [--json] [--force]

Manages the signing keys of a running tokensvc through its admin API, at
TOKENSVC_URL (default http://127.0.0.1:8080) with the admin API key in
TOKENSVC_API_KEY.

  list          every key, its state, and what to do in the MoEngage dashboard
  create        create the next key now (pending: published, not signing)
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

type keyInfo struct {
	KID          string    `json:"kid"`
	Alg          string    `json:"alg"`
	Bits         int       `json:"bits"`
	State        string    `json:"state"`
	Dashboard    string    `json:"dashboard"`
	PEMURL       string    `json:"pem_url"`
	CreatedAt    time.Time `json:"created_at"`
	PublishUntil time.Time `json:"publish_until"`
	RegisteredAt time.Time `json:"registered_at"`
	RegisteredBy string    `json:"registered_by"`
}

func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("keys", keysHelp, stdout)
	asJSON := fs.Bool("json", false, "print the service's JSON answer")
	force := fs.Bool("force", false, "activate: even though nobody confirmed the key is in the dashboard")
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
	switch {
	case sub == "":
		return usageError{"keys: say what to do: list, create, confirm KID, activate KID, revoke KID or pem KID (see tokensvc keys --help)"}
	case *force && sub != "activate":
		return usageError{fmt.Sprintf("keys %s: --force is for activate only", sub)}
	case needKID[sub] && kid == "":
		return usageError{fmt.Sprintf("keys %s: which key? give its KID (tokensvc keys list shows them)", sub)}
	case !needKID[sub] && kid != "":
		return usageError{fmt.Sprintf("keys %s: unexpected argument %q", sub, kid)}
	}
	c, err := newAPIClient(getenv)
	if err != nil {
		return err
	}
	path := "/v1/keys/" + url.PathEscape(kid)
	// Sent only when forcing: an activation without a body is the plain one.
	var activateBody any
	if *force {
		activateBody = map[string]bool{"force": true}
	}
	if *asJSON && sub != "pem" {
		method, p, body := "POST", path+"/"+sub, any(nil)
		switch sub {
		case "list":
			method, p = "GET", "/v1/keys"
		case "create":
			p = "/v1/keys"
		case "activate":
			body = activateBody
		}
		raw, err := c.raw(ctx, method, p, body)
		if err != nil {
			return err
		}
		_, err = stdout.Write(append(raw, '\n'))
		return err
	}
	switch sub {
	case "list":
		var out struct{ Keys []keyInfo }
		if err := c.call(ctx, "GET", "/v1/keys", nil, &out); err != nil {
			return err
		}
		return printKeys(stdout, out.Keys)
	case "create":
		var k keyInfo
		if err := c.call(ctx, "POST", "/v1/keys", nil, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created pending key %s\n\nNext:\n  1. tokensvc keys pem %s   and paste it in the MoEngage dashboard\n  2. tokensvc keys confirm %s\n  3. tokensvc keys activate %s\n", k.KID, k.KID, k.KID, k.KID)
		return nil
	case "confirm":
		var k keyInfo
		if err := c.call(ctx, "POST", path+"/confirm", nil, &k); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s confirmed in the dashboard at %s by %s; dashboard=%s\n", k.KID, k.RegisteredAt.Format(time.RFC3339), k.RegisteredBy, k.Dashboard)
		if k.State == "pending" {
			fmt.Fprintf(stdout, "\nNext: tokensvc keys activate %s\n", k.KID)
		}
		return nil
	case "activate":
		var out struct {
			Activated keyInfo
			Retired   *keyInfo
		}
		if err := c.call(ctx, "POST", path+"/activate", activateBody, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s now signs\n", out.Activated.KID)
		if out.Activated.Dashboard == "add" {
			fmt.Fprintf(stdout, "nobody confirmed %s is in the MoEngage dashboard, which refuses its tokens until it is: register its PEM now (tokensvc keys pem %s), then tokensvc keys confirm %s\n",
				out.Activated.KID, out.Activated.KID, out.Activated.KID)
		}
		if out.Retired != nil {
			fmt.Fprintf(stdout, "%s retired; keep it in the dashboard until %s, when its last token has expired\n",
				out.Retired.KID, out.Retired.PublishUntil.Format(time.RFC3339))
		}
		return nil
	case "revoke":
		var out struct {
			Revoked     keyInfo
			Replacement *keyInfo
			Action      string
		}
		if err := c.call(ctx, "POST", path+"/revoke", nil, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s revoked: no longer published\n", out.Revoked.KID)
		if out.Replacement != nil {
			fmt.Fprintf(stdout, "%s now signs\n", out.Replacement.KID)
		}
		fmt.Fprintln(stdout, out.Action)
		return nil
	case "pem":
		pem, err := c.raw(ctx, "GET", path+"/public.pem", nil)
		if err != nil {
			return err
		}
		_, err = stdout.Write(pem)
		return err
	}
	return usageError{fmt.Sprintf("keys: unknown action %q (list, create, confirm, activate, revoke, pem)", sub)}
}

func printKeys(w io.Writer, ks []keyInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSTATE\tALG\tBITS\tDASHBOARD\tREGISTERED\tCREATED\tPUBLISHED UNTIL")
	for _, k := range ks {
		until, registered := "", "no"
		if !k.PublishUntil.IsZero() {
			until = k.PublishUntil.Format(time.RFC3339)
		}
		if !k.RegisteredAt.IsZero() {
			registered = k.RegisteredAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", k.KID, k.State, k.Alg, k.Bits, k.Dashboard, registered, k.CreatedAt.Format(time.RFC3339), until)
	}
	return tw.Flush()
}
