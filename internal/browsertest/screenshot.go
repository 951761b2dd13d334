package browsertest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// tempScreenshots is the folder Screenshot writes to when
// TOKENSVC_SCREENSHOTS is not set: one per test binary, made at its first
// screenshot and kept after the run, so that a person can look.
var tempScreenshots struct {
	once sync.Once
	path string
	err  error
}

// Screenshot writes the whole page (not only the viewport), as
// <name>.png, into the folder TOKENSVC_SCREENSHOTS names (made if need
// be), else into a temporary folder whose path the first screenshot logs;
// it returns the file's path. The picture is as wide as the viewport, or
// wider where the page overflows it, which is worth seeing at 375 px.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	dir, err := p.screenshotFolder()
	if err != nil {
		p.t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	png := run(p, "screenshot "+name, fullPage)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("browsertest: screenshot %s: %v", name, err)
	}
	return path
}

func (p *Page) screenshotFolder() (string, error) {
	if dir := os.Getenv("TOKENSVC_SCREENSHOTS"); dir != "" {
		return dir, os.MkdirAll(dir, 0o755)
	}
	tempScreenshots.once.Do(func() {
		tempScreenshots.path, tempScreenshots.err = os.MkdirTemp("", "tokensvc-screenshots-")
		if tempScreenshots.err == nil {
			p.t.Logf("browsertest: screenshots are written to %s (set TOKENSVC_SCREENSHOTS to choose)", tempScreenshots.path)
		}
	})
	return tempScreenshots.path, tempScreenshots.err
}

// fullPage captures the page's whole content, at one device pixel per
// CSS pixel (the viewports have a scale of 1).
func fullPage(ctx context.Context, t *chromedp.Target) ([]byte, error) {
	m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
	if err != nil {
		return nil, err
	}
	size := m.CSSContentSize
	vp := m.CSSLayoutViewport
	// A page shorter or narrower than the viewport is shot at the
	// viewport's size, as a person sees it.
	width := math.Max(size.Width, float64(vp.ClientWidth))
	height := math.Max(size.Height, float64(vp.ClientHeight))
	shot, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format:                page.CaptureScreenshotFormatPng,
		CaptureBeyondViewport: new(true),
		FromSurface:           new(true),
		Clip:                  &page.Viewport{X: 0, Y: 0, Width: width, Height: height, Scale: 1},
	})
	if err != nil {
		return nil, err
	}
	return shot.Data, nil
}
