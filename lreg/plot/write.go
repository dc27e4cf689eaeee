package plot

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"

	"github.com/lreg/lreg/lreg/store"
)

// Write writes dir/name.html (Page) and dir/name.svg (SVG) atomically and returns the paths written.
func (c *Chart) Write(dir, name string) ([]string, error) {
	_, paths, err := c.WriteSVG(dir, name)
	return paths, err
}

// WriteSVG is Write that also returns the SVG it wrote (for Notebook, which shows it where scripts do not run).
func (c *Chart) WriteSVG(dir, name string) (svg []byte, paths []string, err error) {
	page, err := c.Page()
	if err != nil {
		return nil, nil, err
	}
	if svg, err = c.SVG(); err != nil {
		return nil, nil, err
	}
	paths, err = writeAll(dir, name, map[string][]byte{".html": page, ".svg": svg}, ".html", ".svg")
	return svg, paths, err
}

// WriteAll writes each chart as Write does, dir/NAME.html and dir/NAME.svg for each NAME of charts, with
// the SVGs rendered in one Node process; it returns the paths written, in the order of the sorted names.
func WriteAll(dir string, charts map[string]*Chart) ([]string, error) {
	names := slices.Sorted(maps.Keys(charts))
	list := make([]*Chart, len(names))
	for i, n := range names {
		list[i] = charts[n]
	}
	svgs, err := SVGs(list...)
	if err != nil {
		return nil, err
	}
	var paths []string
	for i, n := range names {
		page, err := list[i].Page()
		if err != nil {
			return paths, err
		}
		p, err := writeAll(dir, n, map[string][]byte{".html": page, ".svg": svgs[i]}, ".html", ".svg")
		paths = append(paths, p...)
		if err != nil {
			return paths, err
		}
	}
	return paths, nil
}

// WriteTable writes dir/name.md (Markdown) and dir/name.html (a page holding the HTML table) atomically
// and returns the paths written.
func WriteTable(dir, name string, t Table) ([]string, error) {
	page := fmt.Sprintf("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>%s</title>\n</head>\n<body style=\"margin:16px;font-family:sans-serif\">\n%s</body>\n</html>\n",
		escape(t.Title), t.HTML())
	return writeAll(dir, name, map[string][]byte{".md": []byte(t.Markdown()), ".html": []byte(page)}, ".md", ".html")
}

func writeAll(dir, name string, files map[string][]byte, order ...string) ([]string, error) {
	var paths []string
	for _, ext := range order {
		p := filepath.Join(dir, name+ext)
		if err := store.WriteAtomic(p, files[ext]); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
