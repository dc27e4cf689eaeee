package plot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// ssrScript renders charts with echarts' server-side rendering: it reads a JSON array of {width, height,
// option} on stdin and writes a JSON array of SVG strings to stdout. The echarts bundle's path comes in
// LREG_ECHARTS_JS. Loading echarts costs more than a render, so a batch shares one process.
const ssrScript = `
const echarts = require(process.env.LREG_ECHARTS_JS);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((req) => {
    const chart = echarts.init(null, null, {renderer: 'svg', ssr: true, width: req.width, height: req.height});
    chart.setOption(req.option);
    const svg = chart.renderToSVGString();
    chart.dispose();
    return svg;
  });
  process.stdout.write(JSON.stringify(out));
});
`

// SVG renders the chart as a static SVG document with Node and the npm package echarts.
func (c *Chart) SVG() ([]byte, error) {
	svgs, err := SVGs(c)
	if err != nil {
		return nil, err
	}
	return svgs[0], nil
}

// SVGs renders charts as static SVG documents in one Node process (about 0.2 s to start, then tens of
// milliseconds a chart).
func SVGs(charts ...*Chart) ([][]byte, error) {
	type request struct {
		Width  int            `json:"width"`
		Height int            `json:"height"`
		Option map[string]any `json:"option"`
	}
	reqs := make([]request, len(charts))
	for i, c := range charts {
		option, w, h, err := c.layout()
		if err != nil {
			return nil, err
		}
		reqs[i] = request{w, h, option}
	}
	dir, err := EchartsDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is needed to render SVG: install Node.js (Debian: apt-get install -y nodejs npm)", ErrNoEcharts)
	}
	in, err := json.Marshal(reqs)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", ssrScript)
	cmd.Env = append(os.Environ(), "LREG_ECHARTS_JS="+filepath.Join(dir, minJS))
	cmd.Stdin = bytes.NewReader(in)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plot: rendering SVG with node and %s: %v: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	var svgs []string
	if err := json.Unmarshal(out.Bytes(), &svgs); err != nil || len(svgs) != len(charts) {
		return nil, fmt.Errorf("plot: node's echarts gave no SVGs (%v): %s", err, strings.TrimSpace(stderr.String()))
	}
	res := make([][]byte, len(svgs))
	for i, s := range svgs {
		if !strings.HasPrefix(s, "<svg") {
			return nil, errors.New("plot: node's echarts wrote no SVG for " + strconv.Quote(charts[i].title))
		}
		res[i] = []byte(s)
	}
	return res, nil
}
