package roofline

import (
	"math"
	"strings"
	"testing"
)

// A module in the form XLA's CPU compiler dumps it: a matmul in the entry, another inside a fusion that the
// entry calls twice, a multi-output fusion (a tuple), a fusion that reads only slices of an operand, and
// parameters.
const testHLO = `HloModule test, entry_computation_layout={(f32[80,41]{1,0}, f32[41,1000]{1,0})->f32[80,1000]{1,0}}

%fused_computation.1 (param_0.1: f32[20], param_1.2: f32[10,20]) -> f32[20] {
  %param_1.2 = f32[10,20]{1,0} parameter(1)
  %param_0.1 = f32[20]{0} parameter(0)
  %constant.3 = f32[10]{0} constant({...})
  %dot.9 = f32[20]{0} dot(%constant.3, %param_1.2), lhs_contracting_dims={0}, rhs_contracting_dims={0}, metadata={op_name="x"}
  ROOT %add.1 = f32[20]{0} add(%param_0.1, %dot.9)
}

%fused_computation.2 (p0: f32[80,1000]) -> (f32[80,1000], f32[80,1000]) {
  %p0 = f32[80,1000]{1,0} parameter(0)
  %t = f32[80,1000]{1,0} tanh(%p0)
  ROOT %tuple.1 = (f32[80,1000]{1,0}, f32[80,1000]{1,0}) tuple(%t, %t)
}

%fused_computation.3 (p0.3: f32[80,1000], p1.3: f32[20,1000]) -> f32[20,1000] {
  %p0.3 = f32[80,1000]{1,0} parameter(0)
  %p1.3 = f32[20,1000]{1,0} parameter(1)
  %s1 = f32[20,1000]{1,0} slice(%p0.3), slice={[0:20], [0:1000]}
  %s2 = f32[20,1000]{1,0} slice(%p0.3), slice={[40:60], [0:1000]}
  %m = f32[20,1000]{1,0} multiply(%s1, %s2)
  ROOT %a = f32[20,1000]{1,0} add(%m, %p1.3)
}

ENTRY %main.5 (Arg_0.1: f32[80,41], Arg_1.1: f32[41,1000], Arg_2.1: f32[20], Arg_3.1: f32[10,20], Arg_4.1: f32[20,1000]) -> f32[80,1000] {
  %Arg_0.1 = f32[80,41]{1,0} parameter(0)
  %Arg_1.1 = f32[41,1000]{1,0} parameter(1)
  %Arg_2.1 = f32[20]{0} parameter(2)
  %Arg_3.1 = f32[10,20]{1,0} parameter(3)
  %Arg_4.1 = f32[20,1000]{1,0} parameter(4)
  %dot.1 = f32[80,1000]{1,0} dot(%Arg_0.1, %Arg_1.1), lhs_contracting_dims={1}, rhs_contracting_dims={0}
  %add_dot_fusion.1 = f32[20]{0} fusion(%Arg_2.1, %Arg_3.1), kind=kLoop, calls=%fused_computation.1
  %add_dot_fusion.2 = f32[20]{0} fusion(%add_dot_fusion.1, /*index=1*/%Arg_3.1), kind=kLoop, calls=%fused_computation.1
  %tanh_fusion = (f32[80,1000]{1,0}, f32[80,1000]{1,0}) fusion(%dot.1), kind=kLoop, calls=%fused_computation.2
  %slice_add_fusion = f32[20,1000]{1,0} fusion(%dot.1, %Arg_4.1), kind=kLoop, calls=%fused_computation.3
  ROOT %get-tuple-element.1 = f32[80,1000]{1,0} get-tuple-element(%tanh_fusion), index=0
}
`

// The counts against the hand count: matmul FLOPs 2*80*1000*41 + 2 x (2*20*10), by shape; bytes of each
// kernel its operands plus its result.
func TestCountByHand(t *testing.T) {
	c := handCounts(t)
	if want := 2.0*80*1000*41 + 2*(2*20*10); c.FLOPs() != want {
		t.Errorf("FLOPs %g, want %g", c.FLOPs(), want)
	}
	if len(c.Dots) != 2 || c.Dots[0].Count != 1 || c.Dots[1].Count != 2 || c.Dots[1].FLOPs() != 400 {
		t.Errorf("matmul shapes %+v, want the [80,41].[41,1000] once and the [10].[10,20] twice (400 FLOPs each)", c.Dots)
	}
	wantBytes := map[string]int{
		"dot.1":            4 * (80*41 + 41*1000 + 80*1000),
		"add_dot_fusion.1": 4 * (20 + 200 + 20),
		"add_dot_fusion.2": 4 * (20 + 200 + 20),
		"tanh_fusion":      4 * (80*1000 + 2*80*1000),
		// reads two 20-row slices of the [80,1000] operand, not all of it, and the [20,1000] one whole
		"slice_add_fusion": 4 * (2*20*1000 + 20*1000 + 20*1000),
	}
	for _, k := range c.Kernels {
		want, ok := wantBytes[k.Name]
		if !ok {
			if k.Name != "get-tuple-element.1" {
				t.Errorf("unexpected kernel %s", k.Name)
			}
			continue
		}
		if k.Bytes != want {
			t.Errorf("kernel %s: %d bytes, want %d", k.Name, k.Bytes, want)
		}
	}
	if c.Bytes("add_dot_fusion") != 2*4*240 || c.Bytes("matmul") != wantBytes["dot.1"] {
		t.Errorf("bytes by kind: add_dot_fusion %d, matmul %d", c.Bytes("add_dot_fusion"), c.Bytes("matmul"))
	}
}

// handCounts are testHLO's counts.
func handCounts(t *testing.T) Counts {
	t.Helper()
	m, err := Parse(testHLO)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Count(m)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handMachine is testHLO's counts on a machine of 100 GFLOP/s and 10 GB/s where its two matmul shapes take
// 1e-4 and 1e-6 s.
func handMachine(t *testing.T) (Counts, Machine) {
	c := handCounts(t)
	mach := Machine{PeakGFLOPs: 100, BandwidthGBs: 10, DotSeconds: map[string]float64{}}
	mach.DotSeconds[c.Dots[0].Key()] = 1e-4
	mach.DotSeconds[c.Dots[1].Key()] = 1e-6
	return c, mach
}

// The model: each matmul at its measured time, the rest of the bytes at the bandwidth, the remainder left
// unexplained; the floor is the FLOPs at the peak.
func TestAnalyzeByHand(t *testing.T) {
	c, mach := handMachine(t)
	a := Analyze("test", c, mach, 1e-3)
	if math.Abs(a.Floor-c.FLOPs()/100e9) > 1e-15 {
		t.Errorf("floor %g, want %g", a.Floor, c.FLOPs()/100e9)
	}
	if math.Abs(a.MatmulModel-(1e-4+2e-6)) > 1e-15 {
		t.Errorf("matmul model %g, want %g", a.MatmulModel, 1e-4+2e-6)
	}
	stream := float64(4*(2*240+3*80*1000+4*20*1000)) / 10e9
	if math.Abs(a.StreamModel-stream) > 1e-15 || math.Abs(a.Unexplained-(1e-3-a.MatmulModel-stream)) > 1e-15 {
		t.Errorf("stream model %g (want %g), unexplained %g", a.StreamModel, stream, a.Unexplained)
	}
}

// A dump that is not HLO text is refused with a message that names what was expected.
func TestParseRefusesNonHLO(t *testing.T) {
	if _, err := Parse("hello\nworld\n"); err == nil {
		t.Error("Parse accepted text with no HLO computation")
	}
}

// A graph with no dot (a GPU's matmuls are library calls) prints no floor instead of an infinite ratio.
func TestWriteWithoutMatmuls(t *testing.T) {
	a := Analyze("gpu", Counts{Kernels: []Kernel{{Name: "f", Kind: "fusion", Bytes: 1000}}}, Machine{PeakGFLOPs: 100, BandwidthGBs: 10}, 1e-3)
	var b strings.Builder
	a.Write(&b, 6)
	if strings.Contains(b.String(), "Inf") || strings.Contains(b.String(), "NaN") || !strings.Contains(b.String(), "no floor") {
		t.Errorf("the analysis of a graph without matmuls reads:\n%s", b.String())
	}
}

// The bounds: the floor (the FLOPs at the peak), or the matmuls at their measured times, plus the hand-counted
// element-wise bytes at the bandwidth; each printed as a row of its own. A graph without matmuls gets none.
func TestBoundByHand(t *testing.T) {
	c, mach := handMachine(t)
	a := Analyze("test", c, mach, 1e-3)
	a.SetBound(0.002)
	flops := 2.0*80*1000*41 + 2*400
	if want := flops/100e9 + 0.002/10; math.Abs(a.Bound-want) > 1e-15 {
		t.Errorf("bound %g s, want %g", a.Bound, want)
	}
	if want := 1e-4 + 2e-6 + 0.002/10; math.Abs(a.FusedBound-want) > 1e-15 {
		t.Errorf("bound with the graph's matmuls %g s, want %g", a.FusedBound, want)
	}
	var b strings.Builder
	a.Write(&b, 6)
	for _, row := range []string{"| bound: the floor, plus 0.00 GB", "| bound with this graph's matmuls: each shape at its measured speed, plus those 0.00 GB | 0.0003 |"} {
		if !strings.Contains(b.String(), row) {
			t.Errorf("the analysis has no row %q:\n%s", row, b.String())
		}
	}
	none := Analyze("gpu", Counts{Kernels: []Kernel{{Name: "f", Kind: "fusion", Bytes: 1000}}}, mach, 1e-3)
	none.SetBound(0.002)
	b.Reset()
	none.Write(&b, 6)
	if none.Bound != 0 || none.FusedBound != 0 || strings.Contains(b.String(), "bound") {
		t.Errorf("a graph without matmuls got bounds %g, %g:\n%s", none.Bound, none.FusedBound, b.String())
	}
}
