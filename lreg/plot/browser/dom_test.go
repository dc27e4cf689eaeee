package browser

import (
	"reflect"
	"testing"
)

func TestCountChartsCountsPathsInsideEachChart(t *testing.T) {
	doc := `<!DOCTYPE html><html><head><title>a <div class="lreg-chart"> in a title</title>
<style>.x > div { color: red } /* <path> */</style></head><body>
<!-- <div class="lreg-chart"><path></path></div> -->
<div class="lreg-chart" id="one" title="Loss &gt; 1"><div style="a"><svg><path d="M0 0"></path><g><path d="M1 1"></path></g>
<path d="M2 2"/></svg></div></div>
<script>var s = '<div class="lreg-chart"><path></path></div>'; if (a < b && c > d) {}</script>
<div data-note="a > b" class="big lreg-chart other" id="two"><svg></svg></div>
<div class="lreg-chart-error lreg-chart" id="three">error text</div>
<div class="not-lreg-chart"><svg><path></path></svg></div>
<svg><path d="M9 9"></path></svg>
</body></html>`
	got := CountCharts(doc, "lreg-chart", 3)
	want := []Chart{
		{ID: "one", Title: "Loss > 1", Paths: 3, Drawn: true},
		{ID: "two", Paths: 0, Drawn: false},
		{ID: "three", Paths: 0, Drawn: false},
	}
	if len(got) != len(want) {
		t.Fatalf("found %d charts %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("chart %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestCountChartsThreshold(t *testing.T) {
	doc := `<div class="lreg-chart"><svg><path></path><path></path></svg></div>`
	if c := CountCharts(doc, "lreg-chart", 2); len(c) != 1 || c[0].Paths != 2 || !c[0].Drawn {
		t.Errorf("2 paths, threshold 2: %+v, want drawn", c)
	}
	if c := CountCharts(doc, "lreg-chart", 3); len(c) != 1 || c[0].Drawn {
		t.Errorf("2 paths, threshold 3: %+v, want blank", c)
	}
	if c := CountCharts(`<p>no charts</p>`, "lreg-chart", 1); len(c) != 0 {
		t.Errorf("found %+v in a page without charts", c)
	}
}

func TestCountChartsNestedSameTag(t *testing.T) {
	// The chart div ends at its own </div>, not at an inner one: the path after it is outside.
	doc := `<div class="lreg-chart"><div><div><path></path></div></div><path></path></div><path></path>`
	if c := CountCharts(doc, "lreg-chart", 1); len(c) != 1 || c[0].Paths != 2 {
		t.Errorf("%+v, want one chart with 2 paths", c)
	}
}
