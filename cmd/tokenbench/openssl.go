package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// opensslSpeed is OpenSSL's own RSA signing rate on one core: what a
// server's CPU per token is compared with, the signature being the one
// piece of work a mint cannot skip.
type opensslSpeed struct {
	Command string  `json:"command"`
	Version string  `json:"version"`
	SignsPS float64 `json:"signs_per_second"`
	// PerSignUS is µs of one core per signature: 1e6 / SignsPS.
	PerSignUS float64 `json:"us_per_sign_one_core"`
}

// runOpensslSpeed runs `openssl speed -seconds N -multi 1 rsa2048`. -multi 1
// forks one worker, so the figure is one core's, whatever else the machine
// has; it should run while the server is idle. Without -elapsed, openssl
// speed divides by its CPU user time, not wall time: its µs per sign is CPU
// time, like the server's CPU per token it is compared with.
func runOpensslSpeed(ctx context.Context, seconds int) (opensslSpeed, error) {
	args := []string{"speed", "-seconds", strconv.Itoa(seconds), "-multi", "1", "rsa2048"}
	out, err := exec.CommandContext(ctx, "openssl", args...).Output()
	if err != nil {
		return opensslSpeed{}, fmt.Errorf("openssl %s: %w", strings.Join(args, " "), err)
	}
	s, err := parseOpensslSpeed(out)
	if err != nil {
		return opensslSpeed{}, fmt.Errorf("openssl %s: %w", strings.Join(args, " "), err)
	}
	s.Command = "openssl " + strings.Join(args, " ")
	return s, nil
}

// parseOpensslSpeed reads the rsa 2048 row of the table `openssl speed`
// ends with: under the header "sign verify sign/s verify/s", the row
// "rsa 2048 bits 0.000577s 0.000025s 1732.4 39305.6". The sign/s column
// is found by its header, so added columns (OpenSSL 3.2's encaps…) do not
// shift it.
func parseOpensslSpeed(out []byte) (opensslSpeed, error) {
	var s opensslSpeed
	col := -1
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) >= 2 && f[0] == "version:":
			s.Version = f[1]
		case len(f) > 0 && f[0] == "sign":
			for i, h := range f {
				if h == "sign/s" {
					col = i
				}
			}
		case col >= 0 && len(f) >= 3 && f[0] == "rsa" && f[1] == "2048" && f[2] == "bits":
			vals := f[3:]
			if col >= len(vals) {
				return s, fmt.Errorf("rsa 2048 row has no sign/s column: %q", sc.Text())
			}
			v, err := strconv.ParseFloat(vals[col], 64)
			if err != nil || v <= 0 {
				return s, fmt.Errorf("sign/s %q is not a rate", vals[col])
			}
			s.SignsPS, s.PerSignUS = v, 1e6/v
			return s, nil
		}
	}
	return s, errors.New("no rsa 2048 bits row under a sign/s header")
}
