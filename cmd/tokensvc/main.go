// Command tokensvc mints per-user JWTs for MoEngage's SDK JWT
// authentication, publishes the matching public keys, and administers both.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/tokensvc/tokensvc/internal/keys"
)

// version and commit are stamped at build time by make and the Dockerfile,
// with -ldflags "-X main.version=… -X main.commit=…". A build without them
// says dev, and the commit the Go toolchain recorded, if any.
var (
	version = "dev"
	commit  = ""
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints what went wrong, if anything, and returns the exit status.
func exitCode(err error, stderr io.Writer) int {
	var status exitStatus
	if errors.As(err, &status) {
		return int(status)
	}
	if err != nil {
		msg := err.Error()
		// A refusal from the service is read by an operator: its reason
		// and what to do, not the status line and the error chain.
		var p problemAnswer
		if errors.As(err, &p) {
			msg = p.reason()
		}
		fmt.Fprintln(stderr, "tokensvc:", msg)
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

// command is one tokensvc subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the HTTP service", serve},
		{"migrate", "apply database migrations to TOKENSVC_DATABASE_URL and exit", migrate},
		{"masterkey", "rotate: seal every private key under a new master key (offline)", masterkeyCommand},
		{"keys", "list, create, activate, revoke signing keys, or print one's PEM (admin API)", keysCommand},
		{"verify", "check a token as MoEngage will, and say what to fix", verifyCommand},
		{"token", "mint a token for a user from the running service", tokenCommand},
		{"apikey", "create, list or revoke API keys (admin API; --offline: break-glass)", apikeyCommand},
		{"audit", "print the audit log: who changed what, when (admin API)", auditCommand},
		{"backup", "copy the running embedded store to a file (admin API)", backupCommand},
		{"restore", "put a backup in place as the embedded store (offline)", restoreCommand},
		{"export", "write the store's keys, API keys, sessions and audit to a file (offline or from a backup)", exportCommand},
		{"import", "load an export file into an empty store (offline)", importCommand},
		{"healthcheck", "exit 0 if the service on TOKENSVC_ADDR answers /healthz (for container health checks)", healthcheck},
		{"doctor", "check configuration, store, master key and keys; say what the dashboard needs", doctor},
		{"version", "print the version and what signs", printVersion},
	}
}

// run is tokensvc's whole program, with its surroundings passed in so that
// tests can call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], getenv, stdout, stderr)
			var m usageMistake
			if errors.As(err, &m) {
				fmt.Fprint(stderr, m.usage)
				return m.usageError
			}
			return err
		}
	}
	usage(stderr)
	return usageError{fmt.Sprintf("unknown command %q (see tokensvc --help)", args[0])}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `tokensvc mints JWTs for MoEngage SDK authentication and publishes the
public keys to register in the MoEngage dashboard.

Usage:
  tokensvc <command> [flags]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "tokensvc <command> --help" for a command's flags and examples.
Configuration comes from TOKENSVC_* environment variables (see README.md).
`)
}

// newFlagSet returns a flag set whose --help prints text, then the flags,
// on stdout. A mistake returns a usageMistake instead (parseInterspersed).
func newFlagSet(name, text string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tokensvc "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), text)
		var n int
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args, which must all be flags, and reports whether the
// command should go on.
func parseFlags(fs *flag.FlagSet, args []string) (bool, error) {
	pos, ok, err := parseInterspersed(fs, args)
	if ok && len(pos) > 0 {
		return false, mistake(fs, fmt.Sprintf("%s: unexpected argument %q", fs.Name(), pos[0]))
	}
	return ok, err
}

// parseInterspersed parses flags wherever they stand among the arguments
// and returns the positional ones, so "verify TOKEN --user u" works too. An
// argument that names no flag of the command is positional, not a
// mistake: a kid is a base64url thumbprint, and one in 64 starts with "-".
// A flag's value, and whatever follows "--", is never a flag. It reports
// whether the command should go on: it should not after --help, which is
// not an error.
func parseInterspersed(fs *flag.FlagSet, args []string) (positional []string, proceed bool, err error) {
	var flags []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		name, value, ok := flagSyntax(a)
		f := fs.Lookup(name)
		if !ok || (f == nil && name != "h" && name != "help") {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		if f != nil && !value && !isBoolFlag(f) && i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	// The flag package prints to one writer, for --help and mistakes
	// alike: hold it back until we know which this is.
	out := fs.Output()
	var help strings.Builder
	fs.SetOutput(&help)
	err = fs.Parse(flags)
	fs.SetOutput(out)
	switch {
	case errors.Is(err, flag.ErrHelp):
		_, err = io.WriteString(out, help.String())
		return nil, false, err
	case err != nil:
		return nil, false, mistake(fs, err.Error())
	}
	return append(positional, fs.Args()...), true, nil
}

// mistake is a usage error with fs's usage, for run to print on stderr.
func mistake(fs *flag.FlagSet, msg string) usageMistake {
	out := fs.Output()
	var usage strings.Builder
	fs.SetOutput(&usage)
	fs.Usage()
	fs.SetOutput(out)
	return usageMistake{usageError{msg}, usage.String()}
}

// flagSyntax reads a as the flag package would: "-name", "--name" or
// either with "=value"; ok is false for anything else ("-", "---x").
func flagSyntax(a string) (name string, value, ok bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", false, false
	}
	name = strings.TrimPrefix(a[1:], "-")
	if name == "" || name[0] == '-' || name[0] == '=' {
		return "", false, false
	}
	name, _, value = strings.Cut(name, "=")
	return name, value, true
}

// isBoolFlag reports whether f takes no value, as the flag package decides.
func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func printVersion(_ context.Context, args []string, _ func(string) string, stdout, _ io.Writer) error {
	fs := newFlagSet("version", "Usage: tokensvc version\n\nPrints the version, the commit it was built from, the Go release that built it and what signs tokens.\n", stdout)
	if ok, err := parseFlags(fs, args); !ok {
		return err
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintf(stdout, "tokensvc %s\n", version)
	// One "name: value" line each, so that a line can be added (the
	// signer's) without changing how the others read.
	for _, line := range [][2]string{
		{"commit", buildCommit(commit, info)},
		{"go", runtime.Version()},
		{"signer", keys.SignerName()},
	} {
		fmt.Fprintf(stdout, "%-7s %s\n", line[0]+":", line[1])
	}
	return nil
}

// buildCommit is the commit stamped with -X main.commit, or else the one the
// Go toolchain recorded (not in a build without VCS information, such as
// the image's, whose context has no .git).
func buildCommit(stamped string, info *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if info != nil {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
