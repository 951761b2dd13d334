package browsertest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func TestFindChromium(t *testing.T) {
	installed := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, n := range names {
				if n == name {
					return "/found/" + strings.TrimPrefix(name, "/"), nil
				}
			}
			return "", errors.New("not found")
		}
	}
	tests := []struct {
		name      string
		env       string
		installed []string
		want      string // "" when none is found
	}{
		{"Debian's", "", []string{"/usr/bin/chromium", "google-chrome"}, "/found/usr/bin/chromium"},
		{"in PATH", "", []string{"chromium-browser", "google-chrome"}, "/found/chromium-browser"},
		{"Chrome last", "", []string{"google-chrome"}, "/found/google-chrome"},
		{"TOKENSVC_CHROMIUM first", "/opt/chrome", []string{"/opt/chrome", "/usr/bin/chromium"}, "/found/opt/chrome"},
		{"TOKENSVC_CHROMIUM missing is no fallback", "/opt/chrome", []string{"/usr/bin/chromium"}, ""},
		{"none", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			getenv := func(k string) string {
				if k == "TOKENSVC_CHROMIUM" {
					return tt.env
				}
				return ""
			}
			got, err := findChromium(getenv, installed(tt.installed...))
			if got != tt.want || (err != nil) != (tt.want == "") {
				t.Errorf("findChromium = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// endingTB records how Start ends a test: Fatalf and Skipf stop the
// goroutine, as testing's do.
type endingTB struct {
	testing.TB
	fatal, skip string
}

func (e *endingTB) Helper() {}
func (e *endingTB) Fatalf(format string, args ...any) {
	e.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (e *endingTB) Skipf(format string, args ...any) {
	e.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// Without Chromium a test is skipped, and fails under CI=true: CI must
// not pass the console's browser tests by not running them.
func TestStartWithoutChromium(t *testing.T) {
	t.Setenv("TOKENSVC_CHROMIUM", "/nonexistent/chromium")
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			var tb endingTB
			done := make(chan struct{})
			go func() {
				defer close(done)
				Start(&tb)
			}()
			<-done
			switch {
			case ci == "true" && (tb.fatal == "" || !strings.Contains(tb.fatal, "CI=true")):
				t.Errorf("under CI: fatal %q, skip %q; want a failure", tb.fatal, tb.skip)
			case ci == "" && !strings.HasPrefix(tb.skip, SkipReason):
				t.Errorf("fatal %q, skip %q; want a skip beginning %q", tb.fatal, tb.skip, SkipReason)
			}
		})
	}
}
