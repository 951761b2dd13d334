package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/profile"
	"github.com/tokensvc/tokensvc/internal/verify"
	"github.com/tokensvc/tokensvc/tokenclient"
)

const verifyHelp = `Usage: tokensvc verify [--pem FILE]... [--jwks URL] [--user ID] [--json] TOKEN|-

Checks a token the way MoEngage will and prints MoEngage's answer: VALID,
or its error code (HEADER_TYPE_INCOMPATIBLE, INVALID_SIGNATURE,
PAYLOAD_CONTENT_MISSING, TIME_CONSTRAINT_FAILURE, IDENTIFIER_MISMATCH,
DECRYPTION_FAILED) and what to fix. With TOKENSVC_PROFILE=braze, Braze's
rules and codes. Exit status 0 when valid, 1 when not.

The registered keys come from --pem files (the PEMs pasted in the
dashboard), a --jwks URL, or by default the running service's JWKS at
TOKENSVC_URL (default http://127.0.0.1:8080). TOKENSVC_SUBJECT_KEY names the
expected sub key (default uid). "-" reads the token from standard input
(without its final line break). A token with spaces or line breaks around
it is DECRYPTION_FAILED, as at MoEngage.

Examples:
  tokensvc verify --pem dashboard.pem --user user-42 eyJhbGciOi...
  pbpaste | tokensvc verify --json -
`

// multiFlag collects a flag given several times.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func verifyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("verify", verifyHelp, stdout)
	var pems multiFlag
	fs.Var(&pems, "pem", "a registered public key `FILE` (PEM); repeatable")
	jwksURL := fs.String("jwks", "", "fetch the registered keys from this JWKS `URL`")
	user := fs.String("user", "", "the logged-in user `ID` the token must be for")
	asJSON := fs.Bool("json", false, "print the verdict as JSON")
	leeway := fs.Duration("leeway", 0, "clock skew to allow on exp, nbf and iat")
	pos, ok, err := parseInterspersed(fs, args)
	if !ok {
		return err
	}
	if len(pos) != 1 {
		return usageError{"verify: give exactly one TOKEN, or - to read it from standard input"}
	}
	token := pos[0]
	if token == "-" {
		if token, err = readToken(os.Stdin); err != nil {
			return err
		}
	}
	keys, err := registeredKeys(ctx, pems, *jwksURL, getenv)
	if err != nil {
		return err
	}
	profileName, subjectKey := getenv("TOKENSVC_PROFILE"), getenv("TOKENSVC_SUBJECT_KEY")
	if profileName == "" {
		profileName = config.Default("TOKENSVC_PROFILE")
	}
	if subjectKey == "" {
		subjectKey = config.Default("TOKENSVC_SUBJECT_KEY")
	}
	v := verify.Verifier{Keys: keys, Profile: profile.Profile(profileName), SubjectKey: subjectKey, Leeway: *leeway, Now: time.Now}
	res := v.Verify(token, *user)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s\n%s\n", res.Code, res.Message)
	}
	if !res.Valid {
		return exitStatus(1)
	}
	return nil
}

// readToken reads a token from r, up to 1 MiB. The line break that ends a
// file or an echo is not part of the token and is dropped; any other white
// space is left for the verifier to refuse, as MoEngage would.
func readToken(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return "", fmt.Errorf("read the token from standard input: %w", err)
	}
	token := strings.TrimSuffix(string(b), "\n")
	return strings.TrimSuffix(token, "\r"), nil
}

// registeredKeys loads the keys a verifier would hold: from PEM files, a
// JWKS URL, or the running service's JWKS.
func registeredKeys(ctx context.Context, pems []string, jwksURL string, getenv func(string) string) ([]verify.Key, error) {
	var keys []verify.Key
	for _, path := range pems {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("--pem: %w", err)
		}
		ks, err := verify.ParsePEM(b, path)
		if err != nil {
			return nil, fmt.Errorf("--pem: %w", err)
		}
		keys = append(keys, ks...)
	}
	if len(pems) > 0 && jwksURL == "" {
		return keys, nil
	}
	if jwksURL == "" {
		base := strings.TrimRight(strings.TrimSpace(getenv("TOKENSVC_URL")), "/")
		if base == "" {
			base = tokenclient.DefaultURL
		}
		jwksURL = base + "/.well-known/jwks.json"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("--jwks: %w", err)
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch the JWKS at %s (or give --pem FILE): %w", jwksURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch the JWKS at %s: %s", jwksURL, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch the JWKS at %s: %w", jwksURL, err)
	}
	ks, err := verify.ParseJWKS(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", jwksURL, err)
	}
	return append(keys, ks...), nil
}
