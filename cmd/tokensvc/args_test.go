package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

// TestKidsThatStartWithADash: a kid is a base64url thumbprint, so one in
// 64 starts with "-"; such an argument names no flag of the command and
// is the kid, not a mistake. A flag's value and whatever follows "--" are
// never flags.
func TestKidsThatStartWithADash(t *testing.T) {
	const kid = "-kJDka2Zc9Xh3vQ1mT8yLw0pR5sN7bF4gE6uA2cH1iO"
	tests := []struct {
		args []string
		pos  []string
		name string
	}{
		{[]string{kid}, []string{kid}, ""},
		{[]string{"--force", kid}, []string{kid}, ""},
		{[]string{kid, "--force"}, []string{kid}, ""},
		{[]string{"--name", "-ops-", kid}, []string{kid}, "-ops-"},
		{[]string{"--name=-ops-", kid}, []string{kid}, "-ops-"},
		{[]string{"--", "--force"}, []string{"--force"}, ""},
	}
	for _, tc := range tests {
		fs := flag.NewFlagSet("keys activate", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Bool("force", false, "")
		name := fs.String("name", "", "")
		pos, ok, err := parseInterspersed(fs, tc.args)
		if err != nil || !ok || !slices.Equal(pos, tc.pos) || *name != tc.name {
			t.Errorf("parse %q = %q, %v, %v (name %q), want %q (name %q)", tc.args, pos, ok, err, *name, tc.pos, tc.name)
		}
	}
}
