// Package browsertest drives a headless Chromium from Go tests, for the
// console's browser tests (issue 18): it starts the browser, opens tabs of
// a given viewport, and records every console error, uncaught exception,
// Content-Security-Policy violation and failed request a page causes, so
// that a test proves a page is clean, not only that it renders.
//
// It is test-only (internal/tests/deps keeps it out of the binaries).
//
// A package whose tests share one browser runs them through Main:
//
//	func TestMain(m *testing.M) { browsertest.Main(m) }
//
//	func TestSignIn(t *testing.T) {
//		p := browsertest.Start(t).NewPage(t, browsertest.Desktop)
//		p.Go(srv.URL + "/console/signin")
//		p.Fill("#api_key", secret)
//		if status := p.Submit("form"); status != http.StatusOK { … }
//		if got := p.Text("h1"); got != "Keys" { … }
//		p.Screenshot("keys-desktop")
//	} // the page is checked clean, and closed, when the test ends
//
// Without Main, Start starts a browser for each test that calls it, and
// stops it when that test ends. Each Page is a tab in a browser context of
// its own: tests that share the browser share no cookie or storage.
//
// Where no Chromium is found, Start skips the test ("needs Chromium …"),
// except under CI=true, where it fails it: CI must not pass a browser test
// by not running it (.ci/run installs Debian's chromium).
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// SkipReason begins the message of a test skipped because no Chromium is
// installed.
const SkipReason = "needs Chromium"

// chromiumNames are the commands looked for in PATH, in order, when
// TOKENSVC_CHROMIUM is not set; Debian's package installs the first.
var chromiumNames = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// Browser is one running headless Chromium. Its tabs (Pages) each get a
// browser context of their own, so tests that share the browser share no
// cookie or storage.
type Browser struct {
	// ctx is the chromedp context of the browser's first tab, which owns
	// the process; pages are opened from it.
	ctx  context.Context
	stop func()
}

// shared is the browser of a package whose TestMain calls Main: started by
// the first Start, stopped when Main's tests have run. Package state,
// because TestMain is too: go test runs one TestMain per binary.
var shared struct {
	sync.Mutex
	enabled bool
	browser *Browser
	dir     string // the user-data-dir, removed after the browser stops
	err     error  // why the first start failed; later Starts fail alike
}

// Main runs the tests of a package with one browser for all of them, and
// exits with their result. The browser starts at the first Start, not
// before, so a run that selects no browser test starts none. Starting
// Chromium costs far more than a tab (see the package tests' log), and on
// a 2-core machine one browser with a tab per test is the cheap choice.
func Main(m *testing.M) {
	shared.enabled = true
	code := m.Run()
	shared.Lock()
	if shared.browser != nil {
		shared.browser.stop()
		os.RemoveAll(shared.dir)
	}
	shared.Unlock()
	os.Exit(code)
}

// Start returns a running browser: the package's shared one when its
// TestMain calls Main, else one started for t and stopped when t ends.
// It skips t where no Chromium is installed (fails it under CI=true).
func Start(t testing.TB) *Browser {
	t.Helper()
	path, err := findChromium(os.Getenv, exec.LookPath)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browsertest: Chromium is required under CI=true (.ci/run installs Debian's chromium): %v", err)
		}
		t.Skipf("%s (apt-get install chromium, or set TOKENSVC_CHROMIUM): %v", SkipReason, err)
	}
	if !shared.enabled {
		b, err := launch(path, t.TempDir())
		if err != nil {
			t.Fatalf("browsertest: %v", err)
		}
		t.Cleanup(b.stop)
		return b
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.browser == nil && shared.err == nil {
		shared.dir, shared.err = os.MkdirTemp("", "tokensvc-chromium-")
		if shared.err == nil {
			shared.browser, shared.err = launch(path, shared.dir)
		}
	}
	if shared.err != nil {
		t.Fatalf("browsertest: %v", shared.err)
	}
	return shared.browser
}

// findChromium returns the browser to run: TOKENSVC_CHROMIUM when set (it
// must exist), else the first of chromiumNames found.
func findChromium(getenv func(string) string, lookPath func(string) (string, error)) (string, error) {
	if p := getenv("TOKENSVC_CHROMIUM"); p != "" {
		path, err := lookPath(p)
		if err != nil {
			return "", fmt.Errorf("TOKENSVC_CHROMIUM=%s: %w", p, err)
		}
		return path, nil
	}
	for _, name := range chromiumNames {
		if path, err := lookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("none of %v found", chromiumNames)
}

// launch starts Chromium at path with an empty profile in dir and waits
// until it answers.
func launch(path, dir string) (*Browser, error) {
	// Only these flags: a test browser that fetches nothing on its own
	// (no component updates, sync or background requests, whose failures
	// would pollute the recorded events), runs where it has no sandbox
	// (containers, CI as root) and no GPU, and keeps its shared memory out
	// of a small /dev/shm.
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Do starts the process; its context (no timeout) is the
	// browser's lifetime.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			// Cancel closes the browser gracefully and waits for it;
			// cancelAlloc then removes what is left.
			if err := chromedp.Cancel(ctx); err != nil && !errors.Is(err, context.Canceled) {
				fmt.Fprintf(os.Stderr, "browsertest: stop chromium: %v\n", err)
			}
			cancel()
			cancelAlloc()
		})
	}
	return &Browser{ctx: ctx, stop: stop}, nil
}
