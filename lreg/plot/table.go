package plot

import (
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Table is a table of text cells, rendered as HTML (for notebooks) and Markdown. Rows shorter than the
// widest row are padded with empty cells. Columns whose cells are all numbers ("0.93", "97.1 ± 0.4",
// "12%"; empty cells and "—" ignored) are right-aligned.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// numeric matches a number, optionally "± spread" and a percent sign.
var numeric = regexp.MustCompile(`^[-+−]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?(\s*±\s*(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?)?$`)

func escape(s string) string { return html.EscapeString(s) }

// grid is the table as rectangular rows (header first) and each column's right-alignment.
func (t Table) grid() (header []string, rows [][]string, right []bool) {
	n := len(t.Header)
	for _, r := range t.Rows {
		n = max(n, len(r))
	}
	pad := func(r []string) []string {
		out := make([]string, n)
		copy(out, r)
		return out
	}
	header = pad(t.Header)
	for _, r := range t.Rows {
		rows = append(rows, pad(r))
	}
	right = make([]bool, n)
	for j := range n {
		seen := false
		right[j] = true
		for _, r := range rows {
			cell := strings.TrimSpace(r[j])
			if cell == "" || cell == "—" || cell == "-" {
				continue
			}
			seen = true
			if !numeric.MatchString(cell) {
				right[j] = false
				break
			}
		}
		right[j] = right[j] && seen
	}
	return header, rows, right
}

// HTML is the table as an HTML <table> with a caption, cells escaped.
func (t Table) HTML() string {
	header, rows, right := t.grid()
	var b strings.Builder
	b.WriteString(`<table class="lreg-table" style="border-collapse:collapse">` + "\n")
	if t.Title != "" {
		b.WriteString("<caption style=\"font-weight:bold;padding:4px\">" + escape(t.Title) + "</caption>\n")
	}
	cell := func(tag, s string, j int) {
		style := "padding:2px 8px;border-bottom:1px solid #ccc;text-align:left"
		if right[j] {
			style = "padding:2px 8px;border-bottom:1px solid #ccc;text-align:right"
		}
		b.WriteString("<" + tag + ` style="` + style + `">` + escape(s) + "</" + tag + ">")
	}
	b.WriteString("<thead><tr>")
	for j, h := range header {
		cell("th", h, j)
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows {
		b.WriteString("<tr>")
		for j, s := range r {
			cell("td", s, j)
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return b.String()
}

// Markdown is the table in GitHub's Markdown: the title in bold above it, pipes, angle brackets and line
// breaks escaped,
// columns padded to one width, numeric columns right-aligned (---:).
func (t Table) Markdown() string {
	header, rows, right := t.grid()
	md := func(s string) string {
		s = strings.ReplaceAll(s, `\`, `\\`)
		s = strings.ReplaceAll(s, "|", `\|`)
		s = strings.ReplaceAll(s, "<", "&lt;") // else Markdown renderers take it for an HTML tag
		s = strings.ReplaceAll(s, ">", "&gt;")
		s = strings.ReplaceAll(s, "\r\n", "<br>")
		return strings.ReplaceAll(s, "\n", "<br>")
	}
	all := append([][]string{header}, rows...)
	width := make([]int, len(header))
	for i, r := range all {
		for j := range r {
			all[i][j] = md(r[j])
			width[j] = max(width[j], utf8.RuneCountInString(all[i][j]), 3)
		}
	}
	line := func(r []string) string {
		var b strings.Builder
		b.WriteString("|")
		for j, s := range r {
			gap := strings.Repeat(" ", width[j]-utf8.RuneCountInString(s))
			if right[j] {
				b.WriteString(" " + gap + s + " |")
			} else {
				b.WriteString(" " + s + gap + " |")
			}
		}
		return b.String() + "\n"
	}
	var b strings.Builder
	if t.Title != "" {
		b.WriteString("**" + md(t.Title) + "**\n\n")
	}
	b.WriteString(line(all[0]))
	b.WriteString("|")
	for j := range width {
		if right[j] {
			b.WriteString(" " + strings.Repeat("-", width[j]-1) + ": |")
		} else {
			b.WriteString(" " + strings.Repeat("-", width[j]) + " |")
		}
	}
	b.WriteString("\n")
	for _, r := range all[1:] {
		b.WriteString(line(r))
	}
	return b.String()
}
