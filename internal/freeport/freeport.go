// Package freeport picks local TCP addresses for the tokensvc processes
// that tests and the soak start and must find again (at the same address
// after a restart). Asking the kernel for port 0, closing it and handing
// the port to a child races: until the child binds, the port is free, and
// the kernel hands ports of its ephemeral range to outgoing connections.
// Ports outside that range are taken only by someone binding them on
// purpose, so a port picked there stays free in practice; a caller that
// still loses the race starts again with another (see InUse).
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
)

// rangeFile holds the kernel's ephemeral port range on Linux.
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// The range assumed where rangeFile cannot be read: Linux's default, and
// beyond, to cover IANA's (49152–65535).
const defaultLo, defaultHi = 32768, 65535

// Addr returns a loopback address ("127.0.0.1:port") whose port is outside
// the ephemeral range and on which nothing listens now.
func Addr() (string, error) {
	lo, hi := ephemeralRange()
	// The ports below the range, from 1024, and those above it: at least
	// the first part is large on every usual configuration.
	candidates := func() int {
		below, above := lo-1024, 65535-hi // below > 0: lo > 1024
		n := rand.IntN(below + above)
		if n < below {
			return 1024 + n
		}
		return hi + 1 + n - below
	}
	var lastErr error
	for range 100 {
		addr := fmt.Sprintf("127.0.0.1:%d", candidates())
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			lastErr = err
			continue
		}
		ln.Close()
		return addr, nil
	}
	return "", fmt.Errorf("find a free port outside the ephemeral range %d-%d: %w", lo, hi, lastErr)
}

// ephemeralRange reads the kernel's ephemeral range.
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile(rangeFile)
	if err == nil {
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &lo, &hi); err == nil && 1024 < lo && lo <= hi && hi <= 65535 {
			return lo, hi
		}
	}
	return defaultLo, defaultHi
}

// InUse reports whether err, or a child's output, says that the address
// was taken: the caller should start again on another address.
func InUse(err error, output string) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(output, "address already in use")
}
