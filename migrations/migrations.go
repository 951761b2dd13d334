// Package migrations holds tokensvc's PostgreSQL schema as numbered SQL
// files, embedded in the binary so that a deployment never runs a schema
// other than the one its code was written for.
package migrations

import "embed"

// FS holds the migration files, applied in name order, forward-only.
//
//go:embed *.sql
var FS embed.FS
