// Package scratchdb makes and drops throw-away PostgreSQL databases. The
// tests (through internal/pgtest) and the soak (cmd/tokensoak) share it;
// it links no testing code, so the soak binary links none either.
package scratchdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultAdminURL is the server the tests use unless
// TOKENSVC_TEST_DATABASE_URL names another.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/test"

// ErrUnreachable is wrapped by Create's error when no server answers.
var ErrUnreachable = errors.New("PostgreSQL is not reachable")

// Create makes an empty database, named prefix and random hex, on the
// server at adminURL, and returns its URL and a function that drops it.
func Create(ctx context.Context, adminURL, prefix string) (dbURL string, drop func(context.Context) error, err error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("database URL: %w", err)
	}
	connect := func(ctx context.Context) (*pgx.Conn, error) {
		// A short connect timeout of its own: a server that is not there
		// must be reported at once, not after the time CREATE DATABASE
		// may need.
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return pgx.Connect(ctx, adminURL)
	}
	conn, err := connect(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	b := make([]byte, 8)
	rand.Read(b)
	name := prefix + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		c, err := connect(ctx)
		if err == nil {
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		}
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
