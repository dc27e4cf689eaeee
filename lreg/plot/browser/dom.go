package browser

import (
	"html"
	"strings"
)

// Chart is what one chart element of a page holds after the page ran.
type Chart struct {
	ID    string // the element's id ("" if none)
	Title string // its title attribute (plot puts the chart's title there)
	Paths int    // SVG <path> elements inside it
	Drawn bool   // Paths >= the threshold
	// Overlaps are the pairs of its texts (title, legend, axis names and labels) drawn over each other, "A / B"
	// (CheckFiles measures them in the browser; CountCharts cannot).
	Overlaps []string
}

// CountCharts finds every element whose class list holds class in an HTML document (a browser's
// serialized DOM) and counts the SVG <path> elements inside each; a chart is drawn when it holds at least
// minPaths. Scripts, styles and comments are skipped, so a chart's own script source never counts.
func CountCharts(doc, class string, minPaths int) []Chart {
	var out []Chart
	type open struct {
		chart int    // index in out
		tag   string // the chart element's tag
		depth int    // nesting of that tag inside the chart element
	}
	var stack []open
	for tok := range tokens(doc) {
		if tok.end {
			for i := range stack {
				if stack[i].tag == tok.name {
					stack[i].depth--
				}
			}
			for len(stack) > 0 && stack[len(stack)-1].depth == 0 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		if tok.name == "path" {
			for _, o := range stack {
				out[o.chart].Paths++
			}
		}
		for i := range stack {
			if stack[i].tag == tok.name && !tok.selfClosing {
				stack[i].depth++
			}
		}
		if hasClass(tok.attrs["class"], class) && !tok.selfClosing && !voidElements[tok.name] {
			out = append(out, Chart{ID: tok.attrs["id"], Title: tok.attrs["title"]})
			stack = append(stack, open{chart: len(out) - 1, tag: tok.name, depth: 1})
		}
	}
	for i := range out {
		out[i].Drawn = out[i].Paths >= minPaths
	}
	return out
}

func hasClass(list, class string) bool {
	for _, c := range strings.Fields(list) {
		if c == class {
			return true
		}
	}
	return false
}

// voidElements never have an end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// rawText elements hold text up to their end tag, whatever it looks like.
var rawText = map[string]bool{"script": true, "style": true, "textarea": true, "title": true, "xmp": true, "iframe": true, "noscript": true}

type token struct {
	end, selfClosing bool
	name             string
	attrs            map[string]string
}

// tokens yields the start and end tags of an HTML document: enough of HTML's tokenizer for a serialized
// DOM (quoted attributes may hold '>', raw-text elements and comments are skipped).
func tokens(doc string) func(yield func(token) bool) {
	return func(yield func(token) bool) {
		i := 0
		for {
			lt := strings.IndexByte(doc[i:], '<')
			if lt < 0 {
				return
			}
			i += lt
			rest := doc[i:]
			switch {
			case strings.HasPrefix(rest, "<!--"):
				end := strings.Index(rest[4:], "-->")
				if end < 0 {
					return
				}
				i += 4 + end + 3
				continue
			case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
				end := strings.IndexByte(rest, '>')
				if end < 0 {
					return
				}
				i += end + 1
				continue
			}
			tok, n := parseTag(rest)
			if n == 0 { // a '<' that starts no tag, as text
				i++
				continue
			}
			i += n
			if !yield(tok) {
				return
			}
			if !tok.end && !tok.selfClosing && rawText[tok.name] {
				end := indexFold(doc[i:], "</"+tok.name)
				if end < 0 {
					return
				}
				i += end
			}
		}
	}
}

// parseTag reads the tag at the start of s ("<name attrs>" or "</name>"); n is 0 when s starts no tag.
func parseTag(s string) (tok token, n int) {
	i := 1
	if i < len(s) && s[i] == '/' {
		tok.end = true
		i++
	}
	start := i
	for i < len(s) && isNameByte(s[i]) {
		i++
	}
	if i == start || !isLetter(s[start]) {
		return token{}, 0
	}
	tok.name = strings.ToLower(s[start:i])
	tok.attrs = map[string]string{}
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			return token{}, 0
		}
		switch s[i] {
		case '>':
			return tok, i + 1
		case '/':
			if i+1 < len(s) && s[i+1] == '>' {
				tok.selfClosing = true
				return tok, i + 2
			}
			i++
			continue
		}
		ks := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && !(s[i] == '/' && i+1 < len(s) && s[i+1] == '>') {
			i++
		}
		key := strings.ToLower(s[ks:i])
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					return token{}, 0
				}
				val = s[i+1 : i+1+end]
				i += end + 2
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if _, dup := tok.attrs[key]; !dup && key != "" {
			tok.attrs[key] = html.UnescapeString(val)
		}
	}
	return token{}, 0
}

func isSpace(b byte) bool  { return b == ' ' || b == '\t' || b == '\n' || b == '\r' || b == '\f' }
func isLetter(b byte) bool { return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') }
func isNameByte(b byte) bool {
	return isLetter(b) || (b >= '0' && b <= '9') || b == '-' || b == ':' || b == '_'
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	return strings.Index(strings.ToLower(s), strings.ToLower(sub))
}
