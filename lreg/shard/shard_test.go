package shard

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for spec, want := range map[string]Shard{"": {}, "0/1": {0, 1}, "0/2": {0, 2}, "1/2": {1, 2}, " 3 / 8 ": {3, 8}} {
		got, err := Parse(spec)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", spec, got, err, want)
		}
	}
	for spec, want := range map[string]string{
		"2/2": "index must be in 0..1", "-1/3": "index must be in 0..2", "x/3": "want i/n", "1/0": "must be >= 1",
		"3": "want i/n", "1/2/3": "want i/n", "1/": "want i/n", "/4": "want i/n",
	} {
		if _, err := Parse(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q): want an error containing %q, got %v", spec, want, err)
		}
	}
	if s := (Shard{}); s.Split() || s.String() != "all" {
		t.Errorf("the zero shard: split %v, %q", s.Split(), s.String())
	}
	if s := (Shard{1, 4}); !s.Split() || s.String() != "1/4" || s.Of(3) != "shard 3/4" {
		t.Errorf("shard 1/4: split %v, %q, %q", s.Split(), s.String(), s.Of(3))
	}
}

// Every cell belongs to exactly one shard; groups stay whole when there are at least as many groups as
// shards; every shard gets work when there are at least as many cells as shards.
func TestEveryCellInExactlyOneShard(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 17, 64} {
		for _, groups := range []int{1, 2, 4, 9, 153} {
			for _, seeds := range []int{1, 2, 10, 100} {
				cells := make([]int, n) // cells per shard
				for g := range groups {
					touched := map[int]bool{}
					for k := range seeds {
						owners := 0
						for i := range n {
							if (Shard{i, n}).Owns(g, groups, k, seeds) {
								owners++
								cells[i]++
								touched[i] = true
							}
						}
						if owners != 1 {
							t.Fatalf("n=%d groups=%d seeds=%d: cell (%d, %d) has %d owners", n, groups, seeds, g, k, owners)
						}
					}
					if groups >= n && len(touched) != 1 {
						t.Fatalf("n=%d groups=%d seeds=%d: group %d split over %d shards", n, groups, seeds, g, len(touched))
					}
				}
				if groups*seeds >= n {
					for i, c := range cells {
						if c == 0 {
							t.Fatalf("n=%d groups=%d seeds=%d: shard %d has no cell (%v)", n, groups, seeds, i, cells)
						}
					}
				}
			}
		}
	}
	// By hand: 4 groups of 10 seeds over 8 shards: two blocks of 5 seeds per group, dealt in order.
	for _, c := range []struct{ g, k, want int }{{0, 0, 0}, {0, 4, 0}, {0, 5, 1}, {1, 0, 2}, {3, 9, 7}} {
		if got := Owner(c.g, 4, c.k, 10, 8); got != c.want {
			t.Errorf("Owner(group %d, seed %d; 4 groups x 10 seeds, 8 shards) = %d, want %d", c.g, c.k, got, c.want)
		}
	}
	// 5 groups over 2 shards: whole groups, alternating.
	for g, want := range []int{0, 1, 0, 1, 0} {
		if got := Owner(g, 5, 7, 10, 2); got != want {
			t.Errorf("Owner(group %d; 5 groups, 2 shards) = %d, want %d", g, got, want)
		}
	}
	for i, want := range []bool{true, false, false, true, false, false} {
		if got := (Shard{0, 3}).OwnsItem(i); got != want {
			t.Errorf("shard 0/3 owns item %d: %v, want %v", i, got, want)
		}
	}
}

func TestWait(t *testing.T) {
	calls := 0
	ready := func() bool { calls++; return calls >= 3 }
	var log strings.Builder
	w := Wait{Timeout: time.Minute, Poll: time.Millisecond, Report: time.Hour, Log: &log}
	if err := w.Until("lo-sam.lreg", ready, func() string { return "meta-step 7" }); err != nil || calls != 3 {
		t.Fatalf("ready at the third check: %v after %d checks", err, calls)
	}
	if got := log.String(); got != "waiting for lo-sam.lreg (0s of at most 1m0s): meta-step 7\n" {
		t.Errorf("progress line %q", got)
	}
	// No timeout: no waiting at all.
	start := time.Now()
	err := Wait{}.Until("lo-sam.lreg", func() bool { return false }, nil)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "lo-sam.lreg") || time.Since(start) > time.Second {
		t.Errorf("timeout 0: %v after %s", err, time.Since(start))
	}
	// A timeout that passes.
	log.Reset()
	w = Wait{Timeout: 30 * time.Millisecond, Poll: 5 * time.Millisecond, Report: 10 * time.Millisecond, Log: &log}
	err = w.Until("best-loss.json", func() bool { return false }, nil)
	if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "waited 30ms for best-loss.json") {
		t.Errorf("timeout: %v", err)
	}
	if n := strings.Count(log.String(), "waiting for best-loss.json"); n < 2 {
		t.Errorf("%d progress lines in 30 ms at one per 10 ms:\n%s", n, log.String())
	}
}
