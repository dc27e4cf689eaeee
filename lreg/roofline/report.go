package roofline

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Analysis is one compiled graph against the machine: what it computes, how long a call took, and a model of
// where that time goes.
type Analysis struct {
	Title        string  `json:"title"`
	Measured     float64 `json:"measured_seconds"`     // the fastest timed call
	GFLOP        float64 `json:"gflop"`                // matmul FLOPs in the compiled HLO
	GB           float64 `json:"gb"`                   // bytes read and written by its kernels
	Floor        float64 `json:"floor_seconds"`        // GFLOP at the machine's peak matmul rate
	MatmulModel  float64 `json:"matmul_model_seconds"` // every matmul at its shape's measured speed
	StreamModel  float64 `json:"stream_model_seconds"` // every other kernel's bytes at the measured bandwidth
	Unexplained  float64 `json:"unexplained_seconds"`  // measured - the two models
	PeakGFLOPs   float64 `json:"peak_gflops"`
	BandwidthGBs float64 `json:"bandwidth_gbs"`
	// The bounds (SetBound), from MinGB, a hand count of the element-wise bytes that a graph of separate
	// matmul and element-wise kernels computing these matmuls must move however it fuses the rest:
	// Bound, its FLOPs at the peak plus MinGB at the bandwidth, under which no such graph runs; FusedBound,
	// this graph's matmuls at their measured speeds plus MinGB, what it would take with every element-wise
	// step fused.
	MinGB      float64 `json:"min_gb,omitempty"`
	Bound      float64 `json:"bound_seconds,omitempty"`
	FusedBound float64 `json:"fused_bound_seconds,omitempty"`
	Matmuls    []Line  `json:"matmuls"` // by shape, slowest first
	Kernels    []Line  `json:"kernels"` // the other kernels by kind, most bytes first
}

// Line is one row of the breakdown.
type Line struct {
	What    string  `json:"what"`
	Count   int     `json:"count"`
	GFLOP   float64 `json:"gflop"`
	GB      float64 `json:"gb"`
	Seconds float64 `json:"seconds"` // modelled
	GFLOPs  float64 `json:"gflops,omitempty"`
}

// Analyze models a graph of counts c whose fastest call took measured seconds, on machine m.
func Analyze(title string, c Counts, m Machine, measured float64) Analysis {
	a := Analysis{Title: title, Measured: measured, GFLOP: c.FLOPs() / 1e9, GB: float64(c.Bytes("")) / 1e9,
		PeakGFLOPs: m.PeakGFLOPs, BandwidthGBs: m.BandwidthGBs}
	a.Floor = a.GFLOP / m.PeakGFLOPs
	for _, d := range c.Dots {
		sec, ok := m.DotSeconds[d.Key()]
		if !ok { // not timed (not float32): at the peak
			sec = d.FLOPs() / (m.PeakGFLOPs * 1e9)
		}
		a.Matmuls = append(a.Matmuls, Line{What: d.LHS.String() + " . " + d.RHS.String() + contraction(d), Count: d.Count,
			GFLOP: d.FLOPs() * float64(d.Count) / 1e9, Seconds: sec * float64(d.Count), GFLOPs: d.FLOPs() / sec / 1e9})
		a.MatmulModel += sec * float64(d.Count)
	}
	sort.Slice(a.Matmuls, func(i, j int) bool { return a.Matmuls[i].Seconds > a.Matmuls[j].Seconds })
	kinds := map[string]*Line{}
	for _, k := range c.Kernels {
		if k.Kind == "matmul" {
			continue
		}
		l := kinds[k.Kind]
		if l == nil {
			l = &Line{What: k.Kind}
			kinds[k.Kind] = l
		}
		l.Count++
		l.GB += float64(k.Bytes) / 1e9
	}
	for _, l := range kinds {
		l.Seconds = l.GB / m.BandwidthGBs
		a.StreamModel += l.Seconds
		a.Kernels = append(a.Kernels, *l)
	}
	sort.Slice(a.Kernels, func(i, j int) bool {
		if a.Kernels[i].GB != a.Kernels[j].GB {
			return a.Kernels[i].GB > a.Kernels[j].GB
		}
		return a.Kernels[i].What < a.Kernels[j].What
	})
	a.Unexplained = measured - a.MatmulModel - a.StreamModel
	return a
}

// SetBound sets the bounds from minGB (see Analysis.MinGB). The matmuls' own reads and writes are in their
// times, so minGB counts only the element-wise kernels' inputs and outputs. A graph with no matmul gets none.
func (a *Analysis) SetBound(minGB float64) {
	a.MinGB, a.Bound, a.FusedBound = 0, 0, 0
	if a.GFLOP == 0 {
		return
	}
	a.MinGB = minGB
	a.Bound = a.Floor + minGB/a.BandwidthGBs
	a.FusedBound = a.MatmulModel + minGB/a.BandwidthGBs
}

func contraction(d Dot) string {
	s := fmt.Sprintf(" (contract %v.%v", d.LHSContract, d.RHSContract)
	if len(d.LHSBatch) > 0 {
		s += fmt.Sprintf(", batch %v.%v", d.LHSBatch, d.RHSBatch)
	}
	return s + ")"
}

// Write prints the analysis as Markdown: the summary, then the top rows of each breakdown.
func (a Analysis) Write(w io.Writer, top int) {
	pct := func(s float64) string { return fmt.Sprintf("%.0f%%", 100*s/a.Measured) }
	fmt.Fprintf(w, "\n%s\n\n", a.Title)
	fmt.Fprintln(w, "| | seconds | share of the call | note |")
	fmt.Fprintln(w, "|---|---|---|---|")
	fmt.Fprintf(w, "| measured (fastest call) | %.4f | 100%% | |\n", a.Measured)
	if a.GFLOP > 0 {
		fmt.Fprintf(w, "| floor: %.2f GFLOP of matmuls at the peak %.0f GFLOP/s | %.4f | %s | the call runs at %.2fx the floor |\n",
			a.GFLOP, a.PeakGFLOPs, a.Floor, pct(a.Floor), a.Measured/a.Floor)
	} else {
		// A GPU compiler turns matmuls into library calls (custom-call), which this count does not read.
		fmt.Fprintln(w, "| floor: no matmul (dot) in the optimized HLO, so no floor: a GPU's matmuls are library calls, not counted | - | - | |")
	}
	if a.Bound > 0 {
		fmt.Fprintf(w, "| bound: the floor, plus %.2f GB of element-wise traffic that no fusion avoids (hand count) at the bandwidth | %.4f | %s | %.2fx the floor: no graph of separate matmul and element-wise kernels runs faster |\n",
			a.MinGB, a.Bound, pct(a.Bound), a.Bound/a.Floor)
		fmt.Fprintf(w, "| bound with this graph's matmuls: each shape at its measured speed, plus those %.2f GB | %.4f | %s | %.2fx the floor: this graph with every element-wise step fused |\n",
			a.MinGB, a.FusedBound, pct(a.FusedBound), a.FusedBound/a.Floor)
	}
	fmt.Fprintf(w, "| model: the matmuls, each shape at its measured speed alone | %.4f | %s | %d shapes |\n", a.MatmulModel, pct(a.MatmulModel), len(a.Matmuls))
	fmt.Fprintf(w, "| model: the other kernels' %.2f GB at %.1f GB/s | %.4f | %s | element-wise, copies, concatenations, reductions |\n",
		a.GB-a.matmulGB(), a.BandwidthGBs, a.StreamModel, pct(a.StreamModel))
	fmt.Fprintf(w, "| not explained by the model | %.4f | %s | dispatch, page faults, threads waiting, kernels slower than streaming |\n",
		a.Unexplained, pct(a.Unexplained))
	fmt.Fprintln(w)
	writeTop(w, "| matmul shape | count | GFLOP | GFLOP/s alone | modelled s |\n|---|---|---|---|---|", a.Matmuls, top, "shapes", func(l Line) string {
		return fmt.Sprintf("%s | %d | %.3f | %.0f", l.What, l.Count, l.GFLOP, l.GFLOPs)
	}, " | | |")
	writeTop(w, "| other kernels, by kind | count | GB | modelled s |\n|---|---|---|---|", a.Kernels, top, "kinds", func(l Line) string {
		return fmt.Sprintf("%s | %d | %.3f", strings.ReplaceAll(l.What, "|", "/"), l.Count, l.GB)
	}, " | |")
}

// writeTop prints a table of the first top lines and one line that sums the rest.
func writeTop(w io.Writer, header string, ls []Line, top int, what string, row func(Line) string, blanks string) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, header)
	for i, l := range ls {
		if i == top {
			fmt.Fprintf(w, "| ... %d more %s%s | %.4f |\n", len(ls)-top, what, blanks, sumSeconds(ls[top:]))
			break
		}
		fmt.Fprintf(w, "| %s | %.4f |\n", row(l), l.Seconds)
	}
}

func (a Analysis) matmulGB() float64 {
	gb := 0.0
	for _, l := range a.Kernels {
		gb += l.GB
	}
	return a.GB - gb
}

func sumSeconds(ls []Line) float64 {
	s := 0.0
	for _, l := range ls {
		s += l.Seconds
	}
	return s
}
