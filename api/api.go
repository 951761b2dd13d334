// Package api holds tokensvc's HTTP contract, api/openapi.yaml, embedded so
// that the running service serves the document that was tested against it.
package api

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document describing every endpoint.
//
//go:embed openapi.yaml
var OpenAPI []byte
