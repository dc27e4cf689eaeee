package results

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lreg/lreg/lreg/internal/testenv"
)

var (
	decimal = regexp.MustCompile(`[+-]?\d+\.\d+`)             // a number the prose states
	tabled  = regexp.MustCompile(`[+-]?\d+\.\d+(e[+-]?\d+)?`) // a number a table holds
)

// TestREADMEFindingsAreInTheTables checks the README's prose on the cpu profile's results ("What the numbers say")
// number by number against the committed results it cites: every decimal it states must be a value of
// results/cpu's tables or data (rounded to the digits the prose gives; "N points" as 100 times a difference).
// Prose is the one part of the README that `lreg results` does not write, so a rerun that moves a number makes
// this test name the sentence to fix.
func TestREADMEFindingsAreInTheTables(t *testing.T) {
	root := testenv.RepoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, prose, ok := strings.Cut(string(readme), "What the numbers say")
	if !ok {
		t.Skip("the README has no findings prose on the cpu profile")
	}
	prose, _, _ = strings.Cut(prose, "\n\n")
	var known []float64
	files, _ := filepath.Glob(filepath.Join(root, "results", "cpu", "*"))
	for _, f := range files {
		if filepath.Ext(f) != ".md" { // the tables the prose cites (the JSON data hold thousands of curve points, which any number would match)
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range tabled.FindAllString(string(b), -1) {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				known = append(known, v)
			}
		}
	}
	for _, loc := range decimal.FindAllStringIndex(prose, -1) {
		s := prose[loc[0]:loc[1]]
		v, _ := strconv.ParseFloat(s, 64)
		digits := len(s) - strings.Index(s, ".") - 1
		points := strings.HasPrefix(strings.TrimSpace(prose[loc[1]:]), "points")
		scale := math.Pow(10, float64(digits))
		found := false
		for _, k := range known {
			if points {
				k *= 100
			}
			if math.Round(k*scale) == math.Round(v*scale) || (points && math.Round(-k*scale) == math.Round(v*scale)) {
				found = true
				break
			}
		}
		if !found {
			start := max(0, loc[0]-80)
			t.Errorf("the README's findings state %s (%q), which no committed table of results/cpu holds: fix the sentence from the tables", s, strings.ReplaceAll(prose[start:loc[1]], "\n", " "))
		}
	}
}
