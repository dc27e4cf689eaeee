// Package shard splits a sweep among processes that share one run directory: the tasks of a SLURM job array,
// the pods of a Kubernetes indexed job, or one process per device (docs/scale-out.md).
//
// There is no coordinator. Every process computes the same assignment from the sweep's config and its own
// "--shard i/n", runs only its share, and writes one record file per cell; the run directory is then the
// merged result, and a last run with --merge builds the tables from it. What one shard needs from another (a
// meta-trained LO, TaylorGLO's best loss) is a file it polls for (Wait).
//
// The unit of work is a group of cells that share compiled graphs (a method on a task: its seeds), split
// into blocks of seeds only when there are fewer groups than shards (Owner).
package shard

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is part Index of Count (0 <= Index < Count). The zero value, like Count 1, is the whole sweep.
type Shard struct {
	Index, Count int
}

// Parse reads "i/n" (0 <= i < n). An empty spec is the whole sweep.
func Parse(spec string) (Shard, error) {
	if spec == "" {
		return Shard{}, nil
	}
	is, ns, ok := strings.Cut(spec, "/")
	i, errI := strconv.Atoi(strings.TrimSpace(is))
	n, errN := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || errI != nil || errN != nil:
		return Shard{}, fmt.Errorf("--shard %q: want i/n with integers 0 <= i < n, e.g. --shard 0/4 (SLURM: --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)", spec)
	case n < 1:
		return Shard{}, fmt.Errorf("--shard %q: the number of shards must be >= 1", spec)
	case i < 0 || i >= n:
		return Shard{}, fmt.Errorf("--shard %q: the index must be in 0..%d (shards are numbered from 0, as in a job array --array=0-%d)", spec, n-1, n-1)
	}
	return Shard{Index: i, Count: n}, nil
}

// Split reports whether the sweep is shared with other processes.
func (s Shard) Split() bool { return s.Count > 1 }

// String is "i/n", or "all" for the whole sweep.
func (s Shard) String() string {
	if !s.Split() {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Of names shard i of the same split ("shard 2/8"), for messages about other shards' work.
func (s Shard) Of(i int) string { return fmt.Sprintf("shard %d/%d", i, max(s.Count, 1)) }

func (s Shard) count() int { return max(s.Count, 1) }

// OwnsItem reports whether item i of a fixed list (the LOs a sweep meta-trains) is this shard's: i mod n.
func (s Shard) OwnsItem(i int) bool { return i%s.count() == s.Index%s.count() }

// ItemOwner is the shard of item i of a fixed list.
func (s Shard) ItemOwner(i int) int { return i % s.count() }

// Owns reports whether seed k (of seeds) of group g (of groups) is this shard's (see Owner).
func (s Shard) Owns(g, groups, k, seeds int) bool {
	return Owner(g, groups, k, seeds, s.count()) == s.Index%s.count()
}

// Owner is the shard, of n, that runs seed k of group g, in a sweep of groups groups of seeds seeds each.
//
// Groups are dealt round-robin, whole, so that a process compiles a method's graphs once for all its seeds.
// When there are fewer groups than shards, each group's seeds are cut into b = ceil(n/groups) contiguous
// blocks (at most one per seed), and the blocks are dealt instead, so that every shard gets work.
func Owner(g, groups, k, seeds, n int) int {
	if n <= 1 {
		return 0
	}
	blocks := 1
	if groups < n {
		blocks = min(max(seeds, 1), (n+groups-1)/max(groups, 1))
	}
	block := k * blocks / max(seeds, 1)
	return (g*blocks + block) % n
}
