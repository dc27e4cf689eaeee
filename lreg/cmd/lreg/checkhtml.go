package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lreg/lreg/lreg/plot/browser"
)

// cmdCheckHTML opens each HTML file in headless Chromium, offline, and fails unless every file has charts
// and every chart drew (figures/*.html, nbconvert's HTML of executed notebooks).
func cmdCheckHTML(args []string) error {
	fs := flag.NewFlagSet("check-html", flag.ContinueOnError)
	minPaths := fs.Int("min-paths", 5, "SVG paths a chart must hold to count as drawn")
	budget := fs.Duration("budget", 10*time.Second, "virtual time the page's scripts get before the charts are counted")
	timeout := fs.Duration("timeout", 2*time.Minute, "real time allowed to Chromium per file")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lreg check-html [flags] FILE.html...\n\nOpens each file in headless Chromium with the network off and counts, per chart (class lreg-chart),\nthe SVG paths it drew. Fails if a file has no chart or a chart is blank.")
		fs.PrintDefaults()
	}
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("check-html: no file given")
	}
	opt := browser.Options{MinPaths: *minPaths, Budget: *budget, Timeout: *timeout}
	failed := 0
	for _, file := range fs.Args() {
		r, err := browser.Check(context.Background(), file, opt)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d charts found, %d drawn\n", file, len(r.Charts), r.Drawn())
		for _, c := range r.Charts {
			if !c.Drawn {
				fmt.Printf("  blank: %q (id %s, %d SVG paths)\n", c.Title, c.ID, c.Paths)
			}
		}
		if !r.OK() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("check-html: %d of %d files have no chart or a blank chart", failed, fs.NArg())
	}
	return nil
}
