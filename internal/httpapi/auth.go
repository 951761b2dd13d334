package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/tokensvc/tokensvc/internal/apikey"
)

type callerKey struct{}

// caller is the API key that authenticated a request, as the context holds
// it: two strings, so that carrying it costs the mint path what the id
// alone did, one small allocation.
type caller struct{ id, name string }

// requireScope admits requests whose bearer API key has scope need.
func (a *api) requireScope(need apikey.Scope) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			secret, ok := bearer(r.Header.Get("Authorization"))
			if !ok {
				writeProblem(w, newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
					"send an API key as: Authorization: Bearer <api key>"))
				return
			}
			k, err := a.apiKeys.Verify(secret)
			if err != nil {
				writeProblem(w, newProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
					"the API key is unknown or revoked"))
				return
			}
			if err := a.perKey.Take(k.ID); err != nil {
				a.writeError(w, r, err)
				return
			}
			if !k.Scope.Allows(need) {
				writeProblem(w, newProblem(http.StatusForbidden, "forbidden", "Forbidden",
					"this API key has scope "+string(k.Scope)+"; this endpoint needs scope "+string(need)))
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{k.ID, k.Name})))
		})
	}
}

// bearer extracts the credential of an "Authorization: Bearer <credential>"
// header. The scheme is case-insensitive (RFC 9110); the credential is not.
func bearer(header string) (string, bool) {
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	cred = strings.TrimSpace(cred)
	if cred == "" || strings.ContainsAny(cred, " \t") {
		return "", false
	}
	return cred, true
}

// callerID returns the id of the API key that authenticated r, for logs.
func callerID(r *http.Request) string {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c.id
}

// callerLabel names the API key that authenticated r for the record, as
// "apikey:<id> (<name>)": the id is what to revoke, the name who holds it.
func callerLabel(r *http.Request) string {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return "apikey:" + c.id + " (" + c.name + ")"
}
