// Package browser checks that the charts of HTML files draw: it opens the files in headless Chromium with
// the network cut off (many files per Chromium run, each in its own frame), lets their scripts run, and
// counts the SVG paths inside each chart element (class "lreg-chart", see lreg/plot). A chart whose
// library failed to load holds no paths.
//
// Chromium is Debian's package (`apt-get install -y chromium`), found at $LREG_CHROMIUM, else on PATH as
// chromium, chromium-browser, google-chrome.
package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoChromium is returned (wrapped) when no Chromium is installed.
var ErrNoChromium = errors.New("chromium not found")

// Options tune a check; the zero value works.
type Options struct {
	// Class marks chart elements; "" means "lreg-chart".
	Class string
	// MinPaths is the number of SVG paths a drawn chart holds at least; 0 means 5 (an axis, a grid line
	// and a series already make more; a chart that did not draw has none).
	MinPaths int
	// Budget is the virtual time the page's scripts get before the DOM is read; 0 means 10 s (charts
	// waiting for echarts poll every 50 ms).
	Budget time.Duration
	// Timeout bounds the real time of one Chromium run (a batch of files); 0 means 120 s.
	Timeout time.Duration
	// Batch is the number of files CheckFiles opens in one Chromium run; 0 means 25.
	Batch int
}

func (o Options) withDefaults() Options {
	if o.Class == "" {
		o.Class = "lreg-chart"
	}
	if o.MinPaths <= 0 {
		o.MinPaths = 5
	}
	if o.Budget <= 0 {
		o.Budget = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 120 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 25
	}
	return o
}

// Report is what a check found in one file.
type Report struct {
	File   string
	Charts []Chart
	// Err is why the file could not be checked (missing, unreadable document, not loaded in time); nil
	// when its charts were counted.
	Err error
}

// Drawn counts the charts that drew.
func (r Report) Drawn() int {
	n := 0
	for _, c := range r.Charts {
		if c.Drawn {
			n++
		}
	}
	return n
}

// Overlapping counts the charts with texts drawn over each other.
func (r Report) Overlapping() int {
	n := 0
	for _, c := range r.Charts {
		if len(c.Overlaps) > 0 {
			n++
		}
	}
	return n
}

// OK reports whether the file was checked, has charts, and all of them drew with no text over another.
func (r Report) OK() bool {
	return r.Err == nil && len(r.Charts) > 0 && r.Drawn() == len(r.Charts) && r.Overlapping() == 0
}

// Chromium is the path of the Chromium binary: $LREG_CHROMIUM, else the first of chromium,
// chromium-browser, google-chrome on PATH.
func Chromium() (string, error) {
	if p := os.Getenv("LREG_CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: LREG_CHROMIUM=%s: %v: point it at a Chromium binary or unset it (Debian: apt-get install -y chromium)", ErrNoChromium, p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: install Debian's chromium (apt-get install -y chromium) or set LREG_CHROMIUM to a Chromium binary", ErrNoChromium)
}

// Check opens file in headless Chromium, offline, and reports each chart element and whether it drew. It is
// CheckFiles with one file; a file that is missing or whose document cannot be read is an error.
func Check(ctx context.Context, file string, o Options) (Report, error) {
	rs, err := CheckFiles(ctx, []string{file}, o)
	if err != nil {
		return Report{File: file}, err
	}
	return rs[0], rs[0].Err
}

// DumpDOM is the DOM of file serialized by headless Chromium after o.Budget of virtual time. Nothing
// reaches a network (see chromiumArgs).
func DumpDOM(ctx context.Context, file string, o Options) (string, error) {
	o = o.withDefaults()
	bin, err := Chromium()
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", err
	}
	return dumpDOM(ctx, bin, fileURL(abs), file, o)
}

// dumpDOM runs one headless Chromium on url (what, in messages) and returns the DOM it serialized.
func dumpDOM(ctx context.Context, bin, url, what string, o Options, extra ...string) (string, error) {
	profile, err := os.MkdirTemp("", "lreg-chromium-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	args := append(chromiumArgs(profile, o.Budget), extra...)
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...)
	killGroup(cmd)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("chromium did not finish %s within %v: %w", what, o.Timeout, ctx.Err())
		}
		return "", fmt.Errorf("chromium failed on %s: %v: %s", what, err, lastLines(stderr.String(), 5))
	}
	if out.Len() == 0 {
		return "", fmt.Errorf("chromium printed no DOM for %s: %s", what, lastLines(stderr.String(), 5))
	}
	return out.String(), nil
}

// chromiumArgs are the flags of every run: headless, a fresh profile, and no network: every host name
// fails to resolve and every proxied request goes to a closed port.
func chromiumArgs(profile string, budget time.Duration) []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-dev-shm-usage", "--mute-audio",
		"--user-data-dir=" + profile,
		"--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--host-resolver-rules=MAP * ~NOTFOUND",
		fmt.Sprintf("--virtual-time-budget=%d", budget.Milliseconds()),
	}
}

// fileURL is the file:// URL of an absolute path, escaped (spaces, '#', '%' in names).
func fileURL(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
