package experiment

// Sharing a sweep among processes over one run directory (package shard, docs/scale-out.md): each shard
// meta-trains its LOs, runs its cells (those whose method is at hand first), waits for the LOs that other
// shards meta-train, and writes no table; a run with Merge builds the tables from the records.
//
// No two processes write one file: a record belongs to one cell, hence one shard; an LO's checkpoint,
// progress and LO file belong to the shard that meta-trains it; lo-init.lreg (the untrained LO, written by
// the first fresh meta-training in a folder) is written by the shard of the first LO that is neither stored
// nor started, and the other shards wait for it before they start one.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lreg/lreg/lreg/meta"
	"github.com/lreg/lreg/lreg/shard"
	"github.com/lreg/lreg/lreg/store"
)

// loSet is the LOs a sweep meta-trains into dir; LO i of names is meta-trained by shard i mod n.
type loSet struct {
	dir   string
	names []string
	scale shard.Options
	log   io.Writer
	// config is the meta-training of the LO called name: a stored LO of other settings is never taken.
	config func(name string) (meta.Config, error)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func (s loSet) stored(name string) bool { return exists(meta.LOFile(s.dir, name)) }

func (s loSet) owner(name string) int {
	for i, n := range s.names {
		if n == name {
			return s.scale.Shard.ItemOwner(i)
		}
	}
	return 0
}

// trainMine meta-trains this shard's LOs that are not stored yet; train(name, resume) meta-trains one,
// resuming from its checkpoint when there is one. First it settles all of them (meta.Settle): an LO or
// checkpoint of other settings than the sweep's is moved aside, never taken, before any cell can use it.
func (s loSet) trainMine(train func(name string, resume bool) error) error {
	var todo []string
	for i, name := range s.names {
		if !s.scale.Shard.OwnsItem(i) {
			continue
		}
		cfg, err := s.config(name)
		if err != nil {
			return err
		}
		if _, err := meta.Settle(s.dir, cfg, s.log); err != nil {
			return err
		}
		if !s.stored(name) {
			todo = append(todo, name)
		}
	}
	for _, name := range todo {
		if err := s.trainOne(name, train); err != nil {
			return err
		}
	}
	return nil
}

// trainOne meta-trains one LO unless another process is meta-training it (meta.NewTrainer's claim): then it
// waits for that process, and takes over from its checkpoint if it stopped without storing the LO.
func (s loSet) trainOne(name string, train func(name string, resume bool) error) error {
	for !s.stored(name) {
		resume := exists(meta.CheckpointFile(s.dir, name))
		if !resume {
			if err := s.awaitInit(); err != nil {
				return err
			}
		}
		err := train(name, resume)
		if !errors.Is(err, shard.ErrBusy) {
			return err
		}
		fmt.Fprintf(s.log, "LO %q is being meta-trained by %s: waiting for it instead of meta-training it again\n", name, shard.Holder(meta.ClaimFile(s.dir, name)))
		claim, err := shard.WaitClaim(meta.ClaimFile(s.dir, name), fmt.Sprintf("the meta-training of LO %q", name), s.log, 0, 0,
			func() string { return s.progress(name) })
		if err != nil {
			return err
		}
		claim.Release() // meta.NewTrainer claims it again if it is still to be done
	}
	return nil
}

// awaitInit returns once this shard may start a fresh meta-training: lo-init.lreg exists, or this shard is
// the one to write it (it meta-trains the first LO that is neither stored nor started).
func (s loSet) awaitInit() error {
	initFile := filepath.Join(s.dir, meta.InitLOFile)
	if !s.scale.Shard.Split() || exists(initFile) {
		return nil
	}
	for i, name := range s.names {
		if s.stored(name) || exists(meta.CheckpointFile(s.dir, name)) {
			continue
		}
		writer := s.scale.Shard.ItemOwner(i)
		if writer == s.scale.Shard.Index {
			return nil
		}
		w := s.scale.Wait
		w.Log = s.log
		err := w.Until(fmt.Sprintf("%s, written by %s when it starts meta-training %q", initFile, s.scale.Shard.Of(writer), name),
			func() bool { return exists(initFile) }, nil)
		return s.hint(err, writer)
	}
	return nil
}

// awaitAny waits until one of the named LOs is stored, saying how far their meta-trainings are.
func (s loSet) awaitAny(names []string) error {
	var what, owners []string
	for _, n := range names {
		what = append(what, fmt.Sprintf("%s (meta-trained by %s)", meta.LOFile(s.dir, n), s.scale.Shard.Of(s.owner(n))))
		owners = append(owners, s.scale.Shard.Of(s.owner(n)))
	}
	w := s.scale.Wait
	w.Log = s.log
	err := w.Until(strings.Join(what, " or "), func() bool {
		for _, n := range names {
			if s.stored(n) {
				return true
			}
		}
		return false
	}, func() string {
		var st []string
		for _, n := range names {
			st = append(st, n+": "+s.progress(n))
		}
		return strings.Join(st, "; ")
	})
	if errors.Is(err, shard.ErrNotReady) {
		return fmt.Errorf("%w\nstart or check %s (the same command with its --shard); wait longer with --wait DURATION (now %s)",
			err, strings.Join(unique(owners), ", "), s.scale.Wait.Timeout)
	}
	return err
}

// progress says how far the meta-training of name is, from its progress file.
func (s loSet) progress(name string) string {
	var p meta.Progress
	if store.ReadJSON(meta.ProgressFile(s.dir, name), &p) != nil {
		return "not started yet"
	}
	return fmt.Sprintf("meta-step %d, curriculum stage %d, %.0f s of meta-training", p.MetaStep, p.Stage+1, p.WallSeconds)
}

func unique(list []string) []string {
	var out []string
	for _, x := range list {
		out = appendNew(out, x)
	}
	return out
}

func (s loSet) hint(err error, owner int) error {
	if errors.Is(err, shard.ErrNotReady) {
		return fmt.Errorf("%w\nstart %s (the same command with --shard %d/%d) or check why it stopped; wait longer with --wait DURATION (now %s)",
			err, s.scale.Shard.Of(owner), owner, s.scale.Shard.Count, s.scale.Wait.Timeout)
	}
	return err
}

// job is a shard's cells of one group (a method on a task: they share compiled graphs).
type job struct {
	lo  string // the LO it needs (NAME), "" for a baseline
	run func() error
}

// runJobs runs the jobs whose LO is stored, then waits for the others' LOs one at a time, in job order.
func (s loSet) runJobs(jobs []job) error {
	var waiting []job
	for _, j := range jobs {
		if j.lo != "" && !s.stored(j.lo) {
			waiting = append(waiting, j)
			continue
		}
		if err := j.run(); err != nil {
			return err
		}
	}
	for len(waiting) > 0 {
		var still []job
		for _, j := range waiting {
			if s.stored(j.lo) {
				if err := j.run(); err != nil {
					return err
				}
			} else {
				still = append(still, j)
			}
		}
		if len(still) == 0 {
			break
		}
		var los []string
		for _, j := range still {
			los = append(los, j.lo)
		}
		if err := s.awaitAny(unique(los)); err != nil {
			return err
		}
		waiting = still
	}
	return nil
}

// MergeReport says what a merge found: records present and cells still missing.
type MergeReport struct {
	Records int      // cells with a record
	Missing []string // cells without one (their record paths)
}

func (m *MergeReport) add(path string) {
	if exists(path) {
		m.Records++
	} else {
		m.Missing = append(m.Missing, path)
	}
}

// String is one line for the log: how many records, and the first missing ones.
func (m MergeReport) String() string {
	if len(m.Missing) == 0 {
		return fmt.Sprintf("merged %d records, none missing", m.Records)
	}
	show := m.Missing[:min(3, len(m.Missing))]
	return fmt.Sprintf("merged %d records; %d cells have no record yet (a shard has not finished, or failed: run it again, same flags): %s%s",
		m.Records, len(m.Missing), strings.Join(show, ", "), map[bool]string{true: ", ...", false: ""}[len(m.Missing) > len(show)])
}
