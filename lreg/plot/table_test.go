package plot

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var table = Table{
	Title:  "Table 1 <smoke>",
	Header: []string{"method", "MNIST", "steps"},
	Rows: [][]string{
		{"LO | SAM", "97.1 ± 0.4", "120"},
		{"SGD & <wd>", "95.0 ± 1.25", "—"},
		{"Adam"}, // short row: padded
	},
}

func TestTableMarkdownEscapesAndAligns(t *testing.T) {
	want := "**Table 1 &lt;smoke&gt;**\n\n" +
		"| method           |       MNIST | steps |\n" +
		"| ---------------- | ----------: | ----: |\n" +
		"| LO \\| SAM        |  97.1 ± 0.4 |   120 |\n" +
		"| SGD & &lt;wd&gt; | 95.0 ± 1.25 |     — |\n" +
		"| Adam             |             |       |\n"
	if got := table.Markdown(); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableMarkdownLineBreaksAndText(t *testing.T) {
	got := Table{Header: []string{"a"}, Rows: [][]string{{"x\ny"}, {"12%"}}}.Markdown()
	want := "| a      |\n| ------ |\n| x<br>y |\n| 12%    |\n"
	if got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
}

func TestTableHTMLEscapesAndAligns(t *testing.T) {
	h := table.HTML()
	for _, want := range []string{
		"<caption style=\"font-weight:bold;padding:4px\">Table 1 &lt;smoke&gt;</caption>",
		"text-align:left\">SGD &amp; &lt;wd&gt;</td>",
		"text-align:right\">97.1 ± 0.4</td>",
		"text-align:right\">MNIST</th>",
		"text-align:left\">method</th>",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("HTML lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "<wd>") || strings.Contains(h, "<smoke>") {
		t.Error("HTML holds an unescaped cell")
	}
	if n := strings.Count(h, "<tr>"); n != 4 {
		t.Errorf("%d rows, want 4 (header + 3)", n)
	}
	if n := strings.Count(h, "<td"); n != 9 {
		t.Errorf("%d cells, want 9 (the short row padded)", n)
	}
}

func TestWriteTable(t *testing.T) {
	dir := t.TempDir()
	paths, err := WriteTable(dir, "table1", table)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 2 || paths[0] != filepath.Join(dir, "table1.md") || paths[1] != filepath.Join(dir, "table1.html") {
		t.Fatalf("wrote %v", paths)
	}
	md, _ := os.ReadFile(paths[0])
	if string(md) != table.Markdown() {
		t.Error("table1.md differs from Markdown()")
	}
	page, _ := os.ReadFile(paths[1])
	if !strings.Contains(string(page), table.HTML()) || !strings.HasPrefix(string(page), "<!DOCTYPE html>") {
		t.Error("table1.html is not a page holding HTML()")
	}
}
