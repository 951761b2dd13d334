package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/tokensvc/tokensvc/internal/apikey"
	"github.com/tokensvc/tokensvc/internal/keys"
	"github.com/tokensvc/tokensvc/internal/ratelimit"
)

// A parser reads one variable's text into its Config field. It reports
// each problem through fail, one call a line, without the variable's name,
// which Load puts in front; a refused value leaves the field as it was.
type parser func(s string, fail func(format string, args ...any))

// The kinds of setting below make the table's rows: each takes the field it
// fills.

// text keeps the value as written: a path, a name, a claim value.
func text(field *string) parser {
	return func(s string, _ func(string, ...any)) { *field = s }
}

// hostPort takes a listen address, host:port with a port from 0 to 65535.
func hostPort(field *string) parser {
	return func(s string, fail func(string, ...any)) {
		if _, port, err := net.SplitHostPort(s); err != nil {
			fail("%q is not host:port (for example 127.0.0.1:8080 or :8080)", s)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			fail("port %q is not a number from 0 to 65535", port)
		} else {
			*field = s
		}
	}
}

// oneOf takes one of the values allowed, exactly as written; complaint is
// the message for any other, with a %q for the value.
func oneOf[T ~string](field *T, complaint string, allowed ...T) parser {
	return func(s string, fail func(string, ...any)) {
		for _, a := range allowed {
			if T(s) == a {
				*field = a
				return
			}
		}
		fail(complaint, s)
	}
}

// lowerCase lets p read its value in any case.
func lowerCase(p parser) parser {
	return func(s string, fail func(string, ...any)) { p(strings.ToLower(s), fail) }
}

// boolean takes true, 1 or yes and false, 0 or no, in any case.
func boolean(field *bool) parser {
	return func(s string, fail func(string, ...any)) {
		switch s = strings.ToLower(s); s {
		case "true", "1", "yes":
			*field = true
		case "false", "0", "no":
			*field = false
		default:
			fail("%q is not true or false", s)
		}
	}
}

// atLeast takes a whole number no smaller than min.
func atLeast(field *int, min int) parser {
	return func(s string, fail func(string, ...any)) {
		n, err := strconv.Atoi(s)
		if err != nil || n < min {
			fail("%q is not a whole number of at least %d", s, min)
			return
		}
		*field = n
	}
}

// wholeSeconds takes a Go duration of whole seconds, at least 1s, such as
// 1h or 90m: the lifetimes and periods that are stored or shown in seconds.
func wholeSeconds(field *time.Duration) parser {
	return func(s string, fail func(string, ...any)) {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			fail("%q is not a duration (for example 15m, 1h or 24h)", s)
		case d < time.Second || d%time.Second != 0:
			fail("%s must be a whole number of seconds, at least 1s", s)
		default:
			*field = d
		}
	}
}

// durationIn takes a Go duration from min to max, such as 5s or 500ms.
func durationIn(field *time.Duration, min, max time.Duration) parser {
	return func(s string, fail func(string, ...any)) {
		d, err := time.ParseDuration(s)
		if err != nil || d < min || d > max {
			fail("%q is not a duration from %s to %s (for example 5s or 1m)", s, min, max)
			return
		}
		*field = d
	}
}

// rate takes a rate limit, N/s, N/min or N/h, or off.
func rate(field *ratelimit.Rate) parser {
	return func(s string, fail func(string, ...any)) {
		r, err := ratelimit.ParseRate(s)
		if err != nil {
			fail("%v", err)
			return
		}
		*field = r
	}
}

// list takes comma-separated items, each read by item; a refused item is a
// problem of its own and the others are still kept.
func list[T any](field *[]T, item func(string) (T, error)) parser {
	return func(s string, fail func(string, ...any)) {
		for _, it := range strings.Split(s, ",") {
			if it = strings.TrimSpace(it); it == "" {
				continue
			}
			v, err := item(it)
			if err != nil {
				fail("%v", err)
				continue
			}
			*field = append(*field, v)
		}
	}
}

// secret takes a shared secret that is long and varied enough not to be
// guessed; why says where it travels as text, which is why it must be
// printable ASCII.
func secret(field *string, why string) parser {
	return func(s string, fail func(string, ...any)) {
		if len(s) < apikey.MinBootstrapLen {
			fail("is %d characters, want at least %d (generate one with: openssl rand -base64 32)", len(s), apikey.MinBootstrapLen)
			return
		}
		if strings.IndexFunc(s, func(r rune) bool { return r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' }) >= 0 {
			fail("must be printable ASCII without spaces: %s", why)
			return
		}
		if n := apikey.Variety(s); n < apikey.MinBootstrapVariety {
			fail("has too little variety: %d different characters, want at least %d (one character or a short word repeated is guessable; generate one with: openssl rand -base64 32)",
				n, apikey.MinBootstrapVariety)
			return
		}
		*field = s
	}
}

// masterKey takes a master key written out in base64.
func masterKey(field *[]byte) parser {
	return func(s string, fail func(string, ...any)) {
		k, err := keys.ParseMasterKey(s)
		if err != nil {
			fail("%v", err)
			return
		}
		*field = k
	}
}

// kmsURL takes a gocloud.dev/secrets keeper URL: scheme://… . Which
// schemes open is decided by the drivers the binary links, when the store
// opens it; here only the form is checked, so a typo is a config error.
func kmsURL(field *string) parser {
	return func(s string, fail func(string, ...any)) {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" || !strings.Contains(s, "://") {
			fail("is not a KMS key URL (awskms://…, gcpkms://…, azurekeyvault://…, hashivault://…, base64key://…)")
			return
		}
		*field = s
	}
}

// The parsers below serve one setting each.

// postgresURL takes a PostgreSQL connection URL.
func postgresURL(field *string) parser {
	return func(s string, fail func(string, ...any)) {
		if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
			fail("must be a postgres:// or postgresql:// URL")
			return
		}
		*field = s
	}
}

// claimName takes the name of a claim's key, as MoEngage's sub object has.
func claimName(field *string) parser {
	return func(s string, fail func(string, ...any)) {
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			fail("must be a non-empty name without control characters")
			return
		}
		*field = s
	}
}

// rsaBits takes an RSA key size MoEngage and our signers support.
func rsaBits(field *int) parser {
	return func(s string, fail func(string, ...any)) {
		switch s {
		case "2048", "3072", "4096":
			*field, _ = strconv.Atoi(s)
		default:
			fail("%q is not supported (use 2048, 3072 or 4096)", s)
		}
	}
}

// webhookURL takes the absolute http(s) URL notifications are sent to.
func webhookURL(field *string) parser {
	return func(s string, fail func(string, ...any)) {
		// The value is not quoted back: a Slack webhook URL's path is its secret.
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			fail("must be an absolute http:// or https:// URL (for example https://hooks.example.com/tokensvc)")
			return
		}
		*field = s
	}
}

// origin reads one CORS origin, scheme://host[:port], in lower case as the
// CORS middleware compares it.
func origin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port], for example https://app.example.com)", s)
	}
	return strings.ToLower(s), nil
}

// proxy reads one trusted proxy, an IP address or a CIDR.
func proxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR (for example 10.0.0.0/8 or 192.0.2.1)", s)
}
