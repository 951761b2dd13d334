package main

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/tokensvc/tokensvc/tokenclient"
)

// TestUsageOnStderrForAMistakeAndStdoutForHelp: a call the command cannot
// parse prints its usage on stderr, where a script does not read it as
// output; --help prints it on stdout, and nothing on stderr.
func TestUsageOnStderrForAMistakeAndStdoutForHelp(t *testing.T) {
	env := func(string) string { return "" }
	for _, args := range [][]string{{"audit", "--limit", "many"}, {"token", "--ttl", "soon"}, {"keys", "--json=maybe", "list"}, {"version", "--x=1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errOut syncBuffer
			err := run(t.Context(), args, env, &out, &errOut)
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if out.String() != "" {
				t.Errorf("a mistake printed on stdout:\n%s", out.String())
			}
			if !strings.Contains(errOut.String(), "Usage: tokensvc "+args[0]) {
				t.Errorf("no usage on stderr:\n%s", errOut.String())
			}
		})
	}
	for _, args := range [][]string{{"audit", "--help"}, {"keys", "-h"}, {"apikey", "--help"}} {
		var out, errOut syncBuffer
		if err := run(t.Context(), args, env, &out, &errOut); err != nil || !strings.Contains(out.String(), "Usage: tokensvc "+args[0]) || errOut.String() != "" {
			t.Errorf("%v: err = %v, stdout:\n%s\nstderr:\n%s\nwant the usage on stdout only", args, err, out.String(), errOut.String())
		}
	}
}

// TestEveryListCommandPrintsJSON: keys list, apikey list and audit take
// --json and print the service's answer.
func TestEveryListCommandPrintsJSON(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	svc.mint(t, admin, `{"user_id":"u"}`)
	for _, tc := range []struct {
		args []string
		list string
	}{
		{[]string{"keys", "list", "--json"}, "keys"},
		{[]string{"apikey", "list", "--json"}, "api_keys"},
		{[]string{"audit", "--json"}, "entries"},
	} {
		out, err := cli(t, svc, admin, tc.args...)
		var answer map[string][]json.RawMessage
		if err != nil || json.Unmarshal([]byte(out), &answer) != nil || len(answer[tc.list]) == 0 {
			t.Errorf("%v: %v\n%s\nwant a JSON object with a non-empty %q", tc.args, err, out, tc.list)
		}
	}
}

// TestAProblemPrintsOnlyItsReason: a refusal from the service (a 409)
// prints the problem's detail and what to do, not the status line and the
// error chain.
func TestAProblemPrintsOnlyItsReason(t *testing.T) {
	svc := start(t, map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()})
	admin := svc.bootstrapSecret()
	out, _ := cli(t, svc, admin, "keys", "create")
	next := regexp.MustCompile(`created pending key (\S+)`).FindStringSubmatch(out)[1]

	_, err := cli(t, svc, admin, "keys", "activate", next)
	var p *tokenclient.Error
	if !errors.As(err, &p) || p.Status != 409 || p.Detail == "" {
		t.Fatalf("err = %v, want the service's 409 as *tokenclient.Error", err)
	}
	var stderr syncBuffer
	if code := exitCode(err, &stderr); code != 1 || stderr.String() != "tokensvc: "+p.Detail+"\n" {
		t.Errorf("printed %q (exit %d), want only the reason %q (exit 1)", stderr.String(), code, p.Detail)
	}

	id := regexp.MustCompile(`(ak_\S+)`).FindString(mustCLI(t, svc, admin, "apikey", "list"))
	_, err = cli(t, svc, admin, "apikey", "revoke", id)
	var stderr2 syncBuffer
	exitCode(err, &stderr2)
	if got := stderr2.String(); !errors.As(err, &p) || p.Status != 409 || got != "tokensvc: "+p.Detail+" (tokensvc apikey create --name NAME --scope admin, then revoke this one)\n" {
		t.Errorf("revoking the last admin key printed %q, want its reason and what to do", got)
	}
}

func mustCLI(t *testing.T, svc *instance, apiKey string, args ...string) string {
	t.Helper()
	out, err := cli(t, svc, apiKey, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}
