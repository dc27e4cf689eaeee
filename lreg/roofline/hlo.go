// Package roofline says how far a compiled graph runs from what the machine allows: it counts the FLOPs of
// every matmul and the bytes every kernel reads and writes in XLA's optimized HLO (the text XLA writes with
// --xla_dump_to), times each matmul shape and a streaming kernel alone in the same process, and models where a
// call's time goes: matmuls at their measured speed, element-wise kernels at the measured bandwidth, the rest
// (dispatch, page faults, threads waiting) as what the model leaves unexplained.
package roofline

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Shape is an array shape of the HLO text: its element type and dimensions (no tuples).
type Shape struct {
	DType string
	Dims  []int
}

// Elems is the number of elements.
func (s Shape) Elems() int {
	n := 1
	for _, d := range s.Dims {
		n *= d
	}
	return n
}

// Bytes is the array's size in memory.
func (s Shape) Bytes() int { return s.Elems() * dtypeBytes(s.DType) }

func (s Shape) String() string {
	parts := make([]string, len(s.Dims))
	for i, d := range s.Dims {
		parts[i] = strconv.Itoa(d)
	}
	return s.DType + "[" + strings.Join(parts, ",") + "]"
}

func dtypeBytes(dt string) int {
	switch dt {
	case "pred", "s8", "u8", "f8e4m3fn", "f8e5m2":
		return 1
	case "s16", "u16", "f16", "bf16":
		return 2
	case "s64", "u64", "f64", "c64":
		return 8
	case "c128":
		return 16
	}
	return 4
}

// Instr is one HLO instruction: its name, result (one Shape, or several for a tuple), opcode, operand names
// and the text after the operands (attributes).
type Instr struct {
	Name     string
	Result   []Shape
	Op       string
	Operands []string
	Attrs    string
}

// Computation is a named list of instructions; Entry marks the module's entry computation.
type Computation struct {
	Name   string
	Entry  bool
	Instrs []Instr
}

// Module is the parsed HLO module.
type Module struct{ Computations []Computation }

var (
	compHeader = regexp.MustCompile(`^(ENTRY\s+)?%?([\w.\-]+)\s*\(.*\{\s*$`)
	instrHead  = regexp.MustCompile(`^\s*(?:ROOT\s+)?%?([\w.\-]+)\s*=\s*`)
	arrayShape = regexp.MustCompile(`^([a-z][a-z0-9]*)\[([0-9,]*)\]`)
)

// Parse reads the text of an HLO module (XLA's `*.after_optimizations.txt`).
func Parse(text string) (Module, error) {
	var m Module
	var cur *Computation
	for n, line := range strings.Split(text, "\n") {
		trim := strings.TrimSpace(line)
		switch {
		case trim == "" || strings.HasPrefix(trim, "HloModule") || strings.HasPrefix(trim, "//"):
			continue
		case trim == "}":
			cur = nil
			continue
		}
		if cur == nil {
			h := compHeader.FindStringSubmatch(trim)
			if h == nil {
				continue // module attributes and the like
			}
			m.Computations = append(m.Computations, Computation{Name: h[2], Entry: h[1] != ""})
			cur = &m.Computations[len(m.Computations)-1]
			continue
		}
		in, err := parseInstr(trim)
		if err != nil {
			return m, fmt.Errorf("HLO line %d: %w: %q", n+1, err, trim)
		}
		cur.Instrs = append(cur.Instrs, in)
	}
	if len(m.Computations) == 0 {
		return m, fmt.Errorf("no HLO computation found: is this XLA's HLO text (--xla_dump_hlo_as_text)?")
	}
	return m, nil
}

func parseInstr(line string) (Instr, error) {
	h := instrHead.FindStringSubmatchIndex(line)
	if h == nil {
		return Instr{}, fmt.Errorf("not an instruction")
	}
	in := Instr{Name: line[h[2]:h[3]]}
	rest := line[h[1]:]
	// The result: one array shape, or a tuple of them in parentheses.
	var shapeText string
	if strings.HasPrefix(rest, "(") {
		end := matching(rest, 0)
		if end < 0 {
			return in, fmt.Errorf("unbalanced tuple shape")
		}
		shapeText, rest = rest[1:end], rest[end+1:]
	} else {
		sp := strings.IndexByte(rest, ' ')
		if sp < 0 {
			return in, fmt.Errorf("no opcode")
		}
		shapeText, rest = rest[:sp], rest[sp:]
	}
	for _, part := range splitTop(shapeText) {
		if s, ok := parseShape(strings.TrimSpace(part)); ok {
			in.Result = append(in.Result, s)
		}
	}
	rest = strings.TrimSpace(rest)
	open := strings.IndexByte(rest, '(')
	if open < 0 {
		return in, fmt.Errorf("no operand list")
	}
	in.Op = rest[:open]
	end := matching(rest, open)
	if end < 0 {
		return in, fmt.Errorf("unbalanced operand list")
	}
	for _, op := range splitTop(rest[open+1 : end]) {
		op = strings.TrimSpace(op)
		if i := strings.LastIndexByte(op, ' '); i >= 0 { // "f32[2]{0} %x" in some dumps
			op = op[i+1:]
		}
		op = strings.TrimPrefix(op, "/*index=")
		if j := strings.Index(op, "*/"); j >= 0 {
			op = op[j+2:]
		}
		if op != "" {
			in.Operands = append(in.Operands, strings.TrimPrefix(op, "%"))
		}
	}
	in.Attrs = rest[end+1:]
	return in, nil
}

func parseShape(s string) (Shape, bool) {
	m := arrayShape.FindStringSubmatch(s)
	if m == nil {
		return Shape{}, false
	}
	sh := Shape{DType: m[1]}
	if m[2] != "" {
		for _, d := range strings.Split(m[2], ",") {
			v, err := strconv.Atoi(d)
			if err != nil {
				return Shape{}, false
			}
			sh.Dims = append(sh.Dims, v)
		}
	}
	return sh, true
}

// matching returns the index of the parenthesis closing the one at open, or -1.
func matching(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// splitTop splits s at the commas outside brackets.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(', '{', '[':
			depth++
		case ')', '}', ']':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// Dot is one matmul shape: lhs . rhs with the given contracting and batch axes, and how often the module
// runs it.
type Dot struct {
	LHS, RHS                 Shape
	LHSContract, RHSContract []int
	LHSBatch, RHSBatch       []int
	Count                    int
}

// FLOPs of one such matmul: 2 x the output's elements x the contracted size.
func (d Dot) FLOPs() float64 {
	k := 1
	for _, a := range d.LHSContract {
		k *= d.LHS.Dims[a]
	}
	out := 1
	for i, n := range d.LHS.Dims {
		if !slices_contains(d.LHSContract, i) {
			out *= n
		}
	}
	for i, n := range d.RHS.Dims {
		if !slices_contains(d.RHSContract, i) && !slices_contains(d.RHSBatch, i) {
			out *= n
		}
	}
	return 2 * float64(out) * float64(k)
}

// Key names the shape (counts aside).
func (d Dot) Key() string {
	return fmt.Sprintf("%s.%s c%v,%v b%v,%v", d.LHS, d.RHS, d.LHSContract, d.RHSContract, d.LHSBatch, d.RHSBatch)
}

func slices_contains(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// Kernel is one kernel the entry computation runs (a fusion, a matmul, a copy, ...) and the bytes it reads
// and writes: its operands and its result, each once (no cache reuse across kernels).
type Kernel struct {
	Name  string
	Kind  string // "matmul", or the fusion's name without its number (XLA names fusions after their ops)
	Bytes int
}

// Counts is what a module computes: its matmuls by shape (inside fusions too), and its kernels.
type Counts struct {
	Dots    []Dot
	Kernels []Kernel
}

// FLOPs is the matmuls' total.
func (c Counts) FLOPs() float64 {
	f := 0.0
	for _, d := range c.Dots {
		f += d.FLOPs() * float64(d.Count)
	}
	return f
}

// Bytes is the kernels' total, and of those of one kind ("" for all).
func (c Counts) Bytes(kind string) int {
	b := 0
	for _, k := range c.Kernels {
		if kind == "" || k.Kind == kind {
			b += k.Bytes
		}
	}
	return b
}

var number = regexp.MustCompile(`[._]\d+$`)

// Count counts m's matmuls and kernels. A fused computation is counted once for each fusion that calls it.
func Count(m Module) (Counts, error) {
	byName := map[string]*Computation{}
	var entry *Computation
	for i := range m.Computations {
		c := &m.Computations[i]
		byName[c.Name] = c
		if c.Entry {
			entry = c
		}
	}
	if entry == nil {
		return Counts{}, fmt.Errorf("the HLO module has no ENTRY computation")
	}
	dots := map[string]*Dot{}
	var out Counts
	var walk func(c *Computation, depth int) error
	walk = func(c *Computation, depth int) error {
		if depth > 8 {
			return fmt.Errorf("computations nested too deep at %s", c.Name)
		}
		shapes := map[string]Shape{}
		for _, in := range c.Instrs {
			if len(in.Result) == 1 {
				shapes[in.Name] = in.Result[0]
			}
		}
		for _, in := range c.Instrs {
			switch in.Op {
			case "dot":
				d, err := dotOf(in, shapes)
				if err != nil {
					return err
				}
				if dots[d.Key()] == nil {
					dots[d.Key()] = &d
				}
				dots[d.Key()].Count++
			case "while", "conditional":
				return fmt.Errorf("%s %s: the counts of a loop or branch depend on its trips; not counted", in.Op, in.Name)
			case "fusion", "call":
				for _, callee := range calledComputations(in.Attrs) {
					if cc := byName[callee]; cc != nil {
						if err := walk(cc, depth+1); err != nil {
							return err
						}
					}
				}
			}
			if c == entry && in.Op != "parameter" && in.Op != "tuple" && in.Op != "get-tuple-element" && in.Op != "bitcast" && in.Op != "constant" {
				b := 0
				for _, s := range in.Result {
					b += s.Bytes()
				}
				var fused *Computation
				if in.Op == "fusion" {
					if cs := calledComputations(in.Attrs); len(cs) == 1 {
						fused = byName[cs[0]]
					}
				}
				for i, op := range in.Operands {
					b += readBytes(fused, i, shapes[op])
				}
				kind := in.Op
				if in.Op == "dot" {
					kind = "matmul"
				} else if in.Op == "fusion" {
					kind = number.ReplaceAllString(in.Name, "")
				}
				out.Kernels = append(out.Kernels, Kernel{Name: in.Name, Kind: kind, Bytes: b})
			}
		}
		return nil
	}
	if err := walk(entry, 0); err != nil {
		return out, err
	}
	for _, d := range dots {
		out.Dots = append(out.Dots, *d)
	}
	sort.Slice(out.Dots, func(i, j int) bool {
		fi, fj := out.Dots[i].FLOPs()*float64(out.Dots[i].Count), out.Dots[j].FLOPs()*float64(out.Dots[j].Count)
		if fi != fj {
			return fi > fj
		}
		return out.Dots[i].Key() < out.Dots[j].Key()
	})
	return out, nil
}

// readBytes is what a kernel reads of its operand i of shape full: the whole array, except where the kernel is
// a fusion whose every use of that operand is a slice, which reads only the slices (at most the whole).
func readBytes(fused *Computation, i int, full Shape) int {
	if fused == nil {
		return full.Bytes()
	}
	param := ""
	for _, in := range fused.Instrs {
		if in.Op == "parameter" && len(in.Operands) == 1 && in.Operands[0] == strconv.Itoa(i) {
			param = in.Name
			break
		}
	}
	if param == "" {
		return full.Bytes()
	}
	sliced, uses := 0, 0
	for _, in := range fused.Instrs {
		for _, op := range in.Operands {
			if op != param {
				continue
			}
			uses++
			if in.Op != "slice" || len(in.Result) != 1 {
				return full.Bytes()
			}
			sliced += in.Result[0].Bytes()
		}
	}
	if uses == 0 {
		return full.Bytes()
	}
	return min(sliced, full.Bytes())
}

var calls = regexp.MustCompile(`(?:calls|to_apply)=%?([\w.\-]+)`)

func calledComputations(attrs string) []string {
	var out []string
	for _, m := range calls.FindAllStringSubmatch(attrs, -1) {
		out = append(out, m[1])
	}
	return out
}

var dimsAttr = regexp.MustCompile(`(lhs|rhs)_(contracting|batch)_dims=\{([0-9,]*)\}`)

func dotOf(in Instr, shapes map[string]Shape) (Dot, error) {
	if len(in.Operands) != 2 {
		return Dot{}, fmt.Errorf("dot %s has %d operands", in.Name, len(in.Operands))
	}
	l, okL := shapes[in.Operands[0]]
	r, okR := shapes[in.Operands[1]]
	if !okL || !okR {
		return Dot{}, fmt.Errorf("dot %s: operand shapes unknown (%s, %s)", in.Name, in.Operands[0], in.Operands[1])
	}
	d := Dot{LHS: l, RHS: r}
	for _, m := range dimsAttr.FindAllStringSubmatch(in.Attrs, -1) {
		var axes []int
		if m[3] != "" {
			for _, a := range strings.Split(m[3], ",") {
				v, _ := strconv.Atoi(a)
				axes = append(axes, v)
			}
		}
		switch m[1] + m[2] {
		case "lhscontracting":
			d.LHSContract = axes
		case "rhscontracting":
			d.RHSContract = axes
		case "lhsbatch":
			d.LHSBatch = axes
		case "rhsbatch":
			d.RHSBatch = axes
		}
	}
	return d, nil
}
