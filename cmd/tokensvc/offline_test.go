package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// offline runs "tokensvc apikey create --scope admin --offline" with env.
func offline(t *testing.T, env map[string]string) (string, error) {
	t.Helper()
	var out syncBuffer
	err := run(t.Context(), []string{"apikey", "create", "--name", "break-glass", "--scope", "admin", "--offline"},
		func(k string) string { return env[k] }, &out, &out)
	return out.String(), err
}

var printedAPIKey = regexp.MustCompile(`created (ak_\S+) .*\n\n\s+(tks_\S+)`)

// TestLastAdminKeyAndBreakGlass: revoking the only admin key is refused
// with the reason; the break-glass command refuses a wrong master key and,
// on the embedded store, a running service, writing nothing; then it
// writes an admin key that works, audited as offline.
func TestLastAdminKeyAndBreakGlass(t *testing.T) {
	for name, setup := range storeSetups(t) {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			svc := start(t, env)
			admin := svc.bootstrapSecret()
			var list struct {
				APIKeys []struct{ ID string } `json:"api_keys"`
			}
			_, body := svc.request(t, "GET", "/v1/apikeys", admin, "")
			if err := json.Unmarshal(body, &list); err != nil || len(list.APIKeys) != 1 {
				t.Fatalf("list: %s", body)
			}
			bootstrapID := list.APIKeys[0].ID
			_, err := cli(t, svc, admin, "apikey", "revoke", bootstrapID)
			if err == nil || !strings.Contains(err.Error(), "409 Last admin key") || !strings.Contains(err.Error(), "create another admin key first") {
				t.Fatalf("revoking the only admin key: err = %v, want 409 with the reason", err)
			}

			wrong, err := keys.NewMasterKey()
			if err != nil {
				t.Fatal(err)
			}
			withWrong := map[string]string{"TOKENSVC_MASTER_KEY": wrong}
			for k, v := range env {
				if k != "TOKENSVC_MASTER_KEY" {
					withWrong[k] = v
				}
			}
			if name == "embedded" {
				out, err := offline(t, env)
				if err == nil || !strings.Contains(err.Error(), "stop it first") {
					t.Fatalf("break-glass while the service runs on the data dir: %v\n%s", err, out)
				}
				if err := svc.stop(); err != nil {
					t.Fatal(err)
				}
			}
			if out, err := offline(t, withWrong); err == nil || !strings.Contains(err.Error(), "master key") {
				t.Fatalf("break-glass with the wrong master key: %v\n%s", err, out)
			}

			out, err := offline(t, env)
			m := printedAPIKey.FindStringSubmatch(out)
			if err != nil || m == nil || !strings.Contains(out, "audited as offline") {
				t.Fatalf("break-glass: %v\n%s", err, out)
			}
			rescueID, rescue := m[1], m[2]
			if name == "embedded" {
				svc = start(t, env)
			}
			// PostgreSQL's running replicas hear of the key at once; allow
			// for the periodic reload should the notification be slow.
			deadline := time.Now().Add(15 * time.Second)
			for {
				status, _ := svc.request(t, "GET", "/v1/apikeys", rescue, "")
				if status == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the break-glass key is refused: %d", status)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if status, body := svc.request(t, "DELETE", "/v1/apikeys/"+bootstrapID, rescue, ""); status != http.StatusNoContent {
				t.Fatalf("revoke the old admin key beside the break-glass one: %d %s", status, body)
			}

			_, body = svc.request(t, "GET", "/v1/audit", rescue, "")
			var log struct {
				Entries []struct {
					Action, Target, Outcome string
					Actor                   struct{ Kind, ID string }
				}
			}
			if err := json.Unmarshal(body, &log); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range log.Entries {
				if strings.HasPrefix(e.Action, "apikey.") {
					got = append(got, e.Actor.Kind+" "+e.Action+" "+e.Target+" "+e.Outcome)
				}
			}
			want := []string{
				"api_key apikey.revoke " + bootstrapID + " ok",
				"offline apikey.create " + rescueID + " ok",
				"api_key apikey.revoke " + bootstrapID + " refused: last-admin-key",
				"scheduler apikey.create " + bootstrapID + " ok",
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("API key audit entries, newest first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

func TestBreakGlassUsage(t *testing.T) {
	env := map[string]string{"TOKENSVC_DATA_DIR": t.TempDir()}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"apikey", "create", "--name", "x", "--offline"}, "--scope admin"},
		{[]string{"apikey", "list", "--offline"}, "create only"},
		{[]string{"apikey", "create", "--name", "x", "--scope", "admin", "--offline"}, "no embedded store"},
	} {
		err := run(t.Context(), tc.args, func(k string) string { return env[k] }, &syncBuffer{}, &syncBuffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to say %q", tc.args, err, tc.want)
		}
	}
}
