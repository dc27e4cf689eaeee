package study

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
)

// Status is what is done and left of a plan in some run directories.
type Status struct {
	Done, Left []int             // plan indices
	Records    map[int]Record    // the done units' records
	Refused    map[string]string // record files that exist but do not check, and why
	// ETA is the seconds the left units take on Shards processes, each unit's estimate scaled by the speed
	// measured on the done units of its class (Class), else on all done units, else as estimated.
	ETA    float64
	Shards int
	speed  map[string]float64
}

// Class groups units of one cost per step: a meta-training by LO kind, a meta-test or baseline by optimizee.
func Class(u Unit) string {
	switch u.Kind {
	case MetaTrain:
		return "meta-train " + u.LOKind
	case MetaTest:
		return "meta-test " + u.Test.Optimizee
	case Probe:
		return "probe " + u.Test.Optimizee
	}
	return "baseline " + u.Test.Optimizee
}

// StatusOf reads which units are done in dirs (a unit is done when one of them holds a record that checks).
func StatusOf(p *Plan, dirs []string, shards int) Status {
	st := Status{Records: map[int]Record{}, Refused: map[string]string{}, Shards: max(shards, 1), speed: map[string]float64{}}
	for i, id := range p.IDs {
		done := false
		for _, d := range dirs {
			rec, err := ReadRecord(p, d, id)
			if err == nil {
				st.Records[i], done = rec, true
				break
			}
			if !errors.Is(err, os.ErrNotExist) {
				st.Refused[RecordPath(d, id)] = err.Error()
			}
		}
		if done {
			st.Done = append(st.Done, i)
		} else {
			st.Left = append(st.Left, i)
		}
	}
	wall, est := map[string]float64{}, map[string]float64{}
	for i, rec := range st.Records {
		c := Class(p.Units[i])
		wall[c] += rec.Provenance.WallSeconds
		est[c] += p.Units[i].Estimate()
		wall["all"] += rec.Provenance.WallSeconds
		est["all"] += p.Units[i].Estimate()
	}
	for c := range wall {
		if est[c] > 0 && wall[c] > 0 {
			st.speed[c] = wall[c] / est[c]
		}
	}
	for _, i := range st.Left {
		st.ETA += st.Expect(p.Units[i])
	}
	st.ETA /= float64(st.Shards)
	return st
}

// Expect is a left unit's expected seconds: its estimate times the measured ratio of its class (or of all).
func (st Status) Expect(u Unit) float64 {
	if r, ok := st.speed[Class(u)]; ok {
		return u.Estimate() * r
	}
	if r, ok := st.speed["all"]; ok {
		return u.Estimate() * r
	}
	return u.Estimate()
}

// Table is the status as text: done and left per class, time spent and expected.
func (st Status) Table(p *Plan) string {
	type row struct {
		done, left   int
		spent, left2 float64
	}
	rows := map[string]*row{}
	var order []string
	get := func(c string) *row {
		if r, ok := rows[c]; ok {
			return r
		}
		rows[c] = &row{}
		order = append(order, c)
		return rows[c]
	}
	for _, u := range p.Units {
		get(Class(u))
	}
	for _, i := range st.Done {
		r := get(Class(p.Units[i]))
		r.done++
		r.spent += st.Records[i].Provenance.WallSeconds
	}
	for _, i := range st.Left {
		r := get(Class(p.Units[i]))
		r.left++
		r.left2 += st.Expect(p.Units[i])
	}
	var b strings.Builder
	fmt.Fprintf(&b, "study %s: %d of %d units done, %d left\n\n", p.Design.Size, len(st.Done), len(p.Units), len(st.Left))
	fmt.Fprintf(&b, "%-24s %6s %6s %12s %14s\n", "units", "done", "left", "time spent", "time left")
	for _, c := range order {
		r := rows[c]
		fmt.Fprintf(&b, "%-24s %6d %6d %12s %14s\n", c, r.done, r.left, duration(r.spent), duration(r.left2))
	}
	measured := "measured on the done units"
	if len(st.Done) == 0 {
		measured = "estimated from lreg bench's speeds (2 CPU cores, XLA), nothing measured yet"
	}
	fmt.Fprintf(&b, "\nETA: %s on %d process(es) (%s)\n", duration(math.Max(st.ETA, 0)), st.Shards, measured)
	for f, why := range st.Refused {
		fmt.Fprintf(&b, "refused: %s: %s\n", f, why)
	}
	return b.String()
}
