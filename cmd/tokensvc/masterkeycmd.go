package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tokensvc/tokensvc/internal/config"
	"github.com/tokensvc/tokensvc/internal/logging"
	"github.com/tokensvc/tokensvc/internal/storage"
)

const masterkeyHelp = `Usage: tokensvc masterkey rotate (--new-key-file FILE | --new-key-url URL)

Seals every stored private signing key under a new master key, in one
transaction, audited as masterkey.rotate by offline. It reads the current
master key from the usual settings (TOKENSVC_MASTER_KEY, _FILE or _URL, and
the _PREVIOUS ones) and opens the store as serve does, proving the current
key first; the new one comes from a file holding a base64 key, or from a
KMS key URL (a new master key is generated and wrapped by it, unless
replicas given that URL already stored one). Running it again changes
nothing. With the embedded store, stop serve first.

Without downtime (PostgreSQL): 1) restart every replica with the new key as
TOKENSVC_MASTER_KEY_FILE (or _URL) and the old one as
TOKENSVC_MASTER_KEY_PREVIOUS (or TOKENSVC_MASTER_KEY_URL_PREVIOUS);
2) run this; 3) restart every replica with the new key only. See README
"Master key: KMS and rotation".

Examples:
  openssl rand -base64 32 > new.key
  TOKENSVC_DATABASE_URL=postgres://... TOKENSVC_MASTER_KEY_FILE=old.key \
    tokensvc masterkey rotate --new-key-file new.key
  TOKENSVC_DATABASE_URL=postgres://... TOKENSVC_MASTER_KEY_URL=awskms://alias/old?region=eu-west-1 \
    tokensvc masterkey rotate --new-key-url 'awskms://alias/new?region=eu-west-1'
`

func masterkeyCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("masterkey", masterkeyHelp, stdout)
	keyFile := fs.String("new-key-file", "", "file holding the new master key, base64")
	keyURL := fs.String("new-key-url", "", "KMS key URL that wraps the new master key")
	pos, ok, err := parseInterspersed(fs, args)
	if !ok {
		return err
	}
	switch {
	case len(pos) != 1 || pos[0] != "rotate":
		return mistake(fs, "masterkey: the one subcommand is rotate")
	case (*keyFile == "") == (*keyURL == ""):
		return mistake(fs, "masterkey rotate: give exactly one of --new-key-file and --new-key-url")
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	to := storage.NewMasterKey{URL: *keyURL}
	if *keyFile != "" {
		if to.Key, err = storage.ReadMasterKey(*keyFile); err != nil {
			return fmt.Errorf("--new-key-file: %w", err)
		}
	}
	r, err := storage.RotateMasterKey(ctx, cfg, to, logging.New(stderr, cfg.LogLevel, cfg.LogFormat))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sealed %d private keys again under master key %s (%s) in the %s store, audited as masterkey.rotate by offline.\n",
		r.Resealed, r.MasterKeyID, r.Source, r.Kind)
	fmt.Fprintln(stdout, "Next: restart every replica with the new master key only, then check with: tokensvc doctor")
	return nil
}
