package results

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/experiment"
	"github.com/lreg/lreg/lreg/store"
)

// headline is Table 1 at a glance: one line per task, the test accuracy (mean over runs) of every method.
func headline(rows []experiment.Row, methods []string) string {
	var b strings.Builder
	b.WriteString("| task |")
	for _, m := range methods {
		b.WriteString(" " + m + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(methods)) + "\n")
	var tasks []string
	acc := map[string]map[string]experiment.Row{}
	for _, r := range rows {
		if r.Missing != "" {
			continue
		}
		task := r.Dataset + "/" + r.Optimizee
		if acc[task] == nil {
			acc[task] = map[string]experiment.Row{}
			tasks = append(tasks, task)
		}
		acc[task][r.Method] = r
	}
	for _, task := range tasks {
		b.WriteString("| " + task + " |")
		for _, m := range methods {
			r, ok := acc[task][m]
			switch {
			case !ok:
				b.WriteString(" — |")
			case r.LR > 0:
				fmt.Fprintf(&b, " %.4f (lr %g) |", r.Accuracy.Mean, r.LR)
			default:
				fmt.Fprintf(&b, " %.4f |", r.Accuracy.Mean)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Readme markers: the README's block between them is ReadmeBlock's, written by `lreg results --readme`.
const (
	readmeBegin = "<!-- results:%s:begin (written by `lreg results --profile %s --readme README.md`; do not edit) -->"
	readmeEnd   = "<!-- results:%s:end -->"
)

// ReadmeBlock is what the README shows of a results folder: the headline table and the verdicts' summary.
func ReadmeBlock(dir string) (string, error) {
	head, err := os.ReadFile(filepath.Join(dir, "headline.md"))
	if err != nil {
		return "", err
	}
	v, err := os.ReadFile(filepath.Join(dir, "verdicts.md"))
	if err != nil {
		return "", err
	}
	summary, _, _ := strings.Cut(string(v), "\n\n| family |") // the first table: one line per claim
	return "Test accuracy, mean over the runs (Table 1; baselines at their tuned learning rate):\n\n" + string(head) +
		"\n" + summary + "\n", nil
}

// UpdateReadme replaces the README's results block of profile with ReadmeBlock(dir); the markers must be there.
func UpdateReadme(readme, profile, dir string) error {
	block, err := ReadmeBlock(dir)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	begin, end := fmt.Sprintf(readmeBegin, profile, profile), fmt.Sprintf(readmeEnd, profile)
	before, rest, ok := strings.Cut(string(raw), begin)
	_, after, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		return fmt.Errorf("%s has no results block for %s: add the lines\n%s\n%s", readme, profile, begin, end)
	}
	return store.WriteAtomic(readme, []byte(before+begin+"\n"+block+end+after))
}

// ReadmeShows reports whether the README's results block of profile is ReadmeBlock(dir).
func ReadmeShows(readme, profile, dir string) (bool, error) {
	block, err := ReadmeBlock(dir)
	if err != nil {
		return false, err
	}
	raw, err := os.ReadFile(readme)
	if err != nil {
		return false, err
	}
	return strings.Contains(string(raw), fmt.Sprintf(readmeBegin, profile, profile)+"\n"+block+fmt.Sprintf(readmeEnd, profile)), nil
}
