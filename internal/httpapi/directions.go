package httpapi

import "net/url"

// Directions is keys.Directions in the service's own words: the route that
// serves a key's public PEM and the CLI command that takes a step on a key.
// It lives here, beside the routes, so that the messages keys writes into
// events and logs name them without keys knowing either.
type Directions struct{}

// PEMPath is the route of kid's public PEM: the one place it is spelled
// (the router's pattern aside), for answers, logs, events and webhooks.
func (Directions) PEMPath(kid string) string {
	return "/v1/keys/" + url.PathEscape(kid) + "/public.pem"
}

// Command is the tokensvc command line that runs step on kid.
func (Directions) Command(step, kid string) string { return "tokensvc keys " + step + " " + kid }
