package plot

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"strings"
)

// ChartClass is the class of every chart's <div>; plot/browser counts what was drawn inside them.
const ChartClass = "lreg-chart"

// Setup is the HTML a notebook displays once, in its first cell, before any chart: echarts inlined (no
// network), so that later Snippets draw. It works in JupyterLab, in GoNB, and in the classic notebook and
// nbconvert's HTML, where require.js is present (see libraryScript).
func Setup() (string, error) {
	return libraryScript()
}

// ShowSetup passes Setup's HTML to display; in GoNB: plot.ShowSetup(gonbui.DisplayHTML).
func ShowSetup(display func(html string)) error {
	s, err := Setup()
	if err != nil {
		return err
	}
	display(s)
	return nil
}

// Show passes the chart's Snippet to display; in GoNB: chart.Show(gonbui.DisplayHTML), after ShowSetup.
func (c *Chart) Show(display func(html string)) { display(c.Snippet()) }

// Snippet is the chart as a <div>+<script> fragment for a notebook output, shown after Setup. Its script
// waits for window.echarts (up to 30 s) when it runs before the library. A chart that cannot be built shows
// its error in the div, and draws nothing.
func (c *Chart) Snippet() string {
	// A random suffix: GoNB runs each cell in a new process, so no counter could keep the ids of equal
	// charts in different cells apart.
	var r [6]byte
	_, _ = rand.Read(r[:])
	return c.fragment("-" + hex.EncodeToString(r[:]))
}

// Notebook is the chart for a notebook output that also shows where scripts do not run: Snippet's <div> holds
// the static svg (the chart's SVG, from SVG) as an <img>, which the script replaces with the interactive chart.
// JupyterLab shows an untrusted output's HTML sanitized, without its scripts but with the <img> (a data: URL),
// so a saved notebook reopened later, or shared, still shows its figures.
func (c *Chart) Notebook(svg []byte) string {
	var r [6]byte
	_, _ = rand.Read(r[:])
	var img string
	if len(svg) > 0 {
		w, h := c.dims()
		img = fmt.Sprintf(`<img class="lreg-chart-static" alt="%s" width="%d" height="%d" style="max-width:100%%;height:auto" src="data:image/svg+xml;base64,%s">`,
			html.EscapeString(c.title), w, h, base64.StdEncoding.EncodeToString(svg))
	}
	return c.fragmentWith("-"+hex.EncodeToString(r[:]), img)
}

// fragment is the chart's div and script; suffix makes its id unique where needed.
func (c *Chart) fragment(suffix string) string { return c.fragmentWith(suffix, "") }

// fragmentWith is fragment with inner (a static picture of the chart) inside the div until the chart draws.
func (c *Chart) fragmentWith(suffix, inner string) string {
	option, w, h, err := c.layout()
	if err == nil {
		_, err = json.Marshal(option)
	}
	if err != nil {
		return fmt.Sprintf(`<div class="%s lreg-chart-error" style="color:#b00;font-family:monospace;white-space:pre-wrap">%s</div>`+"\n",
			ChartClass, html.EscapeString(err.Error()))
	}
	optionJSON, _ := json.Marshal(option) // json.Marshal escapes <, > and &, so the option cannot end the script
	sum := sha256.Sum256(optionJSON)
	id := "lreg-" + hex.EncodeToString(sum[:6]) + suffix
	title, _ := json.Marshal(c.title)
	var b strings.Builder
	fmt.Fprintf(&b, `<div class="%s" id="%s" title="%s" style="width:%dpx;height:%dpx;max-width:100%%">%s</div>`+"\n",
		ChartClass, id, html.EscapeString(c.title), w, h, inner)
	fmt.Fprintf(&b, `<script>
(function(){
var id=%q, title=%s, option=%s;
function draw(){
  var el=document.getElementById(id);
  if(!el||!window.echarts){return false;}
  el.innerHTML='';
  var chart=window.echarts.init(el,null,{renderer:'svg'});
  chart.setOption(option);
  window.addEventListener('resize',function(){chart.resize();});
  return true;
}
if(!draw()){
  var tries=0, timer=setInterval(function(){
    if(draw()){clearInterval(timer);}
    else if(++tries>600){clearInterval(timer);console.error('lreg: echarts is not loaded, chart '+title+' not drawn: display plot.Setup() first');}
  },50);
}
})();
</script>
`, id, title, optionJSON)
	return b.String()
}

// Page is a complete self-contained HTML page holding the chart, with echarts inlined: it opens offline.
func (c *Chart) Page() ([]byte, error) {
	if _, err := c.Option(); err != nil {
		return nil, err
	}
	lib, err := libraryScript()
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n</head>\n<body style=\"margin:16px\">\n",
		html.EscapeString(c.title))
	b.WriteString(lib)
	b.WriteString(c.fragment(""))
	b.WriteString("</body>\n</html>\n")
	return []byte(b.String()), nil
}
