package study

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lreg/lreg/lreg/manifest"
	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/store"
)

// MergeReport says what a merge took in.
type MergeReport struct {
	Added      int      // records new to the destination
	Duplicates int      // records already there (or in another source) with an equal outcome
	Total      int      // records in the destination after the merge
	Units      int      // units in the plan
	Versions   []string // code versions of the destination's records
	Backends   []string // their backends
}

func (r MergeReport) String() string {
	s := fmt.Sprintf("merged: %d new records, %d duplicates with equal outcomes; %d of %d units done", r.Added, r.Duplicates, r.Total, r.Units)
	if len(r.Versions) > 1 || len(r.Backends) > 1 {
		s += fmt.Sprintf("\nnote: the records come from %d code versions (%s) and %d backends (%s): the tables will say so",
			len(r.Versions), strings.Join(r.Versions, ", "), len(r.Backends), strings.Join(r.Backends, ", "))
	}
	return s
}

type source struct {
	dir string
	rec Record
}

// Merge takes the records of the run directories srcs into dest (a run directory, or results/study): every
// record and its LO files are checked against the plan first (Check, checkLinks); a unit recorded twice (in
// dest and a source, or in two sources) must have an equal outcome, and a conflict refuses the whole merge,
// naming both files. Only when everything checks is anything written: the records, the LOs and snapshots of
// the meta-trainings and their meta-loss curves (los/progress-NAME.json).
func Merge(p *Plan, dest string, srcs []string) (MergeReport, error) {
	rep := MergeReport{Units: len(p.Units)}
	all := map[string]source{}
	dup := 0
	take := func(dir string, existing bool) error {
		files, err := filepath.Glob(filepath.Join(dir, "units", "*.json"))
		if err != nil {
			return err
		}
		if !existing && len(files) == 0 {
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("%s: %w", dir, err)
			}
		}
		sort.Strings(files)
		for _, f := range files {
			id := strings.TrimSuffix(filepath.Base(f), ".json")
			var rec Record
			if err := store.ReadJSON(f, &rec); err != nil {
				return fmt.Errorf("%s cannot be read (%v): delete it, or rerun its unit", f, err)
			}
			if rec.ID != id {
				return fmt.Errorf("%s holds the record of unit %s, not %s (renamed?): give it back its name or delete it", f, rec.ID, id)
			}
			if err := Check(p, rec, dir); err != nil {
				return fmt.Errorf("%s refused: %w; delete it (its unit is run again) or leave its directory out", f, err)
			}
			if prev, ok := all[id]; ok {
				if prev.rec.OutcomeSHA256 != rec.OutcomeSHA256 {
					return fmt.Errorf("conflict: %s and %s are records of unit %s with different outcomes (%s): they are not the same computation (made on %s at %s and on %s at %s); keep the one you trust, delete the other, and merge again",
						RecordPath(prev.dir, id), f, id, differs(prev.rec.Outcome, rec.Outcome), prev.rec.Provenance.Backend, prev.rec.Provenance.CodeVersion, rec.Provenance.Backend, rec.Provenance.CodeVersion)
				}
				dup++
				continue
			}
			all[id] = source{dir, rec}
		}
		return nil
	}
	if err := take(dest, true); err != nil {
		return rep, fmt.Errorf("the destination %s: %w", dest, err)
	}
	before := len(all)
	for _, s := range srcs {
		if filepath.Clean(s) == filepath.Clean(dest) {
			return rep, fmt.Errorf("%s is the destination: name only the directories to take in", s)
		}
		if err := take(s, false); err != nil {
			return rep, err
		}
	}
	recs := map[string]Record{}
	for id, s := range all {
		recs[id] = s.rec
	}
	if err := checkLinks(p, recs); err != nil {
		return rep, err
	}
	// Everything checks: write. LO files before the records that name them, so that a crash leaves no record
	// without its LO (a record without one is refused by the next run or merge, and rerun).
	var ids []string
	for id, s := range all {
		if s.dir != dest {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		s := all[id]
		var files []string
		if lo := s.rec.Outcome.LO; lo != nil {
			files = append(files, lo.File)
			for _, sn := range lo.Snapshots {
				files = append(files, sn.File)
			}
			if _, err := os.Stat(meta.ProgressFile(filepath.Join(s.dir, "los"), s.rec.Unit.LO)); err == nil {
				files = append(files, filepath.Join("los", "progress-"+s.rec.Unit.LO+".json"))
			}
		}
		for _, f := range append(files, filepath.Join("units", id+".json")) {
			if err := copyFile(filepath.Join(s.dir, f), filepath.Join(dest, f)); err != nil {
				return rep, err
			}
		}
	}
	// The LOs' manifest (meta.Adopt and the committed-files test check it), after every LO is in place.
	if _, err := os.Stat(filepath.Join(dest, "los")); err == nil {
		if err := manifest.Write(filepath.Join(dest, "los")); err != nil {
			return rep, err
		}
	}
	rep.Added, rep.Duplicates, rep.Total = len(all)-before, dup, len(all)
	versions, backends := map[string]bool{}, map[string]bool{}
	for _, s := range all {
		versions[s.rec.Provenance.CodeVersion], backends[s.rec.Provenance.Backend] = true, true
	}
	rep.Versions, rep.Backends = keys(versions), keys(backends)
	return rep, nil
}

// differs names the first difference of two outcomes, for a conflict's message.
func differs(a, b Outcome) string {
	switch {
	case a.Backend != b.Backend:
		return fmt.Sprintf("backend %s vs %s", a.Backend, b.Backend)
	case a.Data != b.Data:
		return "their data"
	case (a.LO == nil) != (b.LO == nil):
		return "one holds an LO"
	case a.LO != nil && a.LO.ID != b.LO.ID:
		return fmt.Sprintf("LO %s vs %s", short(a.LO.ID), short(b.LO.ID))
	}
	for i := range min(len(a.Runs), len(b.Runs)) {
		if a.Runs[i] != b.Runs[i] {
			return fmt.Sprintf("seed %d: test accuracy %.4f vs %.4f, train loss %.4f vs %.4f", a.Runs[i].Seed, a.Runs[i].TestAccuracy, b.Runs[i].TestAccuracy, a.Runs[i].TrainLoss, b.Runs[i].TrainLoss)
		}
	}
	return "their details"
}

func short(id string) string {
	if len(id) > 19 {
		return id[:19]
	}
	return id
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return store.WriteAtomic(to, b)
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
