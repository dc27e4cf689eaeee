package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/lreg/lreg/lreg/plot/browser"
)

// cmdCheckHTML opens the HTML files in headless Chromium, offline, a batch per run, and fails unless every
// file exists, has charts, and every chart drew (figures/*.html, nbconvert's HTML of executed notebooks).
func cmdCheckHTML(args []string) error {
	fs := flag.NewFlagSet("check-html", flag.ContinueOnError)
	minPaths := fs.Int("min-paths", 5, "SVG paths a chart must hold to count as drawn")
	budget := fs.Duration("budget", 10*time.Second, "virtual time the page's scripts get before the charts are counted")
	timeout := fs.Duration("timeout", 2*time.Minute, "real time allowed to one Chromium run (a batch of files)")
	batch := fs.Int("batch", 25, "files opened in one Chromium run, each in its own frame")
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: lreg check-html [flags] FILE.html...\n\nOpens the files in headless Chromium with the network off (one run per -batch files, each file in its\nown frame) and counts, per chart (class lreg-chart), the SVG paths it drew. Fails if a file is missing,\nhas no chart or a blank chart.")
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
	opt := browser.Options{MinPaths: *minPaths, Budget: *budget, Timeout: *timeout, Batch: *batch}
	reports, err := browser.CheckFiles(context.Background(), fs.Args(), opt)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range reports {
		if r.Err != nil {
			fmt.Printf("%s: not checked: %v\n", r.File, r.Err)
			failed++
			continue
		}
		fmt.Printf("%s: %d charts found, %d drawn\n", r.File, len(r.Charts), r.Drawn())
		for _, c := range r.Charts {
			if !c.Drawn {
				fmt.Printf("  blank: %q (id %s, %d SVG paths)\n", c.Title, c.ID, c.Paths)
			}
			for _, o := range c.Overlaps {
				fmt.Printf("  overlapping text in %q: %s\n", c.Title, o)
			}
		}
		if !r.OK() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("check-html: %d of %d files are missing, unreadable, have no chart, a blank chart or overlapping text", failed, fs.NArg())
	}
	return nil
}
