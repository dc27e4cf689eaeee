package plot

import (
	"strconv"
	"strings"
)

// Colour-blind-safe colours, one per method kind and the same in every figure: Okabe & Ito's eight (2008) for
// the LOs, Paul Tol's muted and bright schemes for the baselines and everything else. A placement variant keeps
// its kind's hue: "-meta" (the regularizer on the LO's weights) darker, "-smooth" lighter; an LO's other
// meta-seeds ("lo-sam.seed1") are its kind.
var kindColors = map[string]string{
	"lo-none":    "#0072b2", // blue
	"lo-sam":     "#d55e00", // vermillion
	"lo-gsam":    "#e69f00", // orange
	"lo-gam":     "#cc79a7", // reddish purple
	"lo-hessian": "#009e73", // bluish green
	"lo-entropy": "#56b4e9", // sky blue
	"lo-l2":      "#882255", // wine
	"lo-init":    "#888888", // grey
	"sgd":        "#000000",
	"adam":       "#332288", // indigo
	"sam":        "#ddcc77", // sand
	"gsam":       "#999933", // olive
	"gam":        "#aa4499", // purple
	"sgd-l2":     "#44aa99", // teal
}

// otherColors are for series that are not methods (a generation's best, the training points, ...), in order.
var otherColors = []string{"#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb", "#117733"}

// Kind is the method a series name is about: its first word ("lo-sam at convergence", "lo-none
// mnist/mlp-relu"), without an LO's meta-seed (".seed1"); "" where the name is no method.
func Kind(name string) string {
	k, _, _ := strings.Cut(strings.TrimSpace(name), " ")
	k = strings.TrimSuffix(k, ",")
	if i := strings.Index(k, ".seed"); i > 0 {
		if _, err := strconv.Atoi(k[i+len(".seed"):]); err == nil {
			k = k[:i]
		}
	}
	base := strings.TrimSuffix(strings.TrimSuffix(k, "-meta"), "-smooth")
	base = strings.TrimSuffix(base, "-meta") // "lo-sam-meta-smooth"
	if _, ok := kindColors[base]; ok {
		return k
	}
	return ""
}

// SeriesColor is the colour of the series called name, index-th of its chart: its kind's (Kind), else the
// index-th of the other colours.
func SeriesColor(name string, index int) string {
	k := Kind(name)
	if k == "" {
		return otherColors[index%len(otherColors)]
	}
	base := strings.TrimSuffix(strings.TrimSuffix(k, "-smooth"), "-meta")
	col := kindColors[base]
	if strings.Contains(k, "-meta") {
		col = shade(col, 0.6)
	}
	if strings.HasSuffix(k, "-smooth") {
		col = tint(col, 0.45)
	}
	return col
}

// shade darkens a #rrggbb colour (f of its brightness kept); tint lightens it (f of the way to white).
func shade(c string, f float64) string { return mix(c, 0, f) }
func tint(c string, f float64) string  { return mix(c, 255, 1-f) }

func mix(c string, to, keep float64) string {
	v, err := strconv.ParseUint(strings.TrimPrefix(c, "#"), 16, 32)
	if err != nil {
		return c
	}
	out := "#"
	for _, sh := range []uint{16, 8, 0} {
		x := float64((v >> sh) & 0xff)
		out += hex2(int(x*keep + to*(1-keep) + 0.5))
	}
	return out
}

func hex2(x int) string {
	const digits = "0123456789abcdef"
	x = min(max(x, 0), 255)
	return string([]byte{digits[x>>4], digits[x&15]})
}
