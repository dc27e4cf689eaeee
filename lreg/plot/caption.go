package plot

import (
	"strconv"
	"strings"
)

// A caption is the text under a chart's title (echarts' subtext): what the chart holds and how much of it there
// is, so that a figure read on its own (its SVG in a paper, say) still says it. It is wrapped at word breaks to
// the chart's width; the chart grows by its lines and the plot moves down below it.
const (
	captionLineHeight = 16
	captionGridTop    = 72 // the plot's top below a caption's last line: clear of the y axis' name above the plot
	captionCharWidth  = legendCharWidth
)

// Caption sets the text under the title ("\n" starts a new line).
func (c *Chart) Caption(text string) *Chart { c.caption = text; return c }

// CaptionText is the caption as set.
func (c *Chart) CaptionText() string { return c.caption }

// captionLines is the caption wrapped to the chart's width.
func (c *Chart) captionLines() []string {
	if strings.TrimSpace(c.caption) == "" {
		return nil
	}
	w := c.width
	if w <= 0 {
		w = DefaultWidth
	}
	per := max(int(float64(w-40)/captionCharWidth), 20)
	var lines []string
	for _, para := range strings.Split(c.caption, "\n") {
		lines = append(lines, wrapWords(para, per)...)
	}
	return lines
}

// wrapWords breaks text into lines of at most per characters at spaces (a longer word gets a line of its own).
func wrapWords(text string, per int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > per {
			lines, line = append(lines, line), ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	return append(lines, line)
}

// captionInto puts the caption into an option: the title's subtext, and the plot's top lowered below it.
func (c *Chart) captionInto(o map[string]any) {
	lines := c.captionLines()
	if len(lines) == 0 {
		return
	}
	if t, ok := o["title"].(map[string]any); ok {
		t["subtext"] = strings.Join(lines, "\n")
		t["subtextStyle"] = map[string]any{"fontSize": 12, "lineHeight": captionLineHeight, "color": "#444444"}
	} else if ts, ok := o["title"].([]any); ok && len(ts) > 0 {
		if t, ok := ts[0].(map[string]any); ok {
			t["subtext"] = strings.Join(lines, "\n")
			t["subtextStyle"] = map[string]any{"fontSize": 12, "lineHeight": captionLineHeight, "color": "#444444"}
		}
	}
	top := strconv.Itoa(captionGridTop + len(lines)*captionLineHeight)
	switch g := o["grid"].(type) {
	case map[string]any:
		g["top"] = top
	case []any:
		for _, x := range g {
			if grid, ok := x.(map[string]any); ok {
				grid["top"] = top
			}
		}
	}
}
