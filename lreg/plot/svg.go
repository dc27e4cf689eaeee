package plot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ssrScript renders one chart with echarts' server-side rendering: it reads {width, height, option} as JSON
// on stdin and writes the SVG to stdout. The echarts bundle's path comes in LREG_ECHARTS_JS.
const ssrScript = `
const echarts = require(process.env.LREG_ECHARTS_JS);
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  const chart = echarts.init(null, null, {renderer: 'svg', ssr: true, width: req.width, height: req.height});
  chart.setOption(req.option);
  process.stdout.write(chart.renderToSVGString());
  chart.dispose();
});
`

// SVG renders the chart as a static SVG document with Node and the npm package echarts.
func (c *Chart) SVG() ([]byte, error) {
	option, err := c.Option()
	if err != nil {
		return nil, err
	}
	dir, err := EchartsDir()
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is needed to render SVG: install Node.js (Debian: apt-get install -y nodejs npm)", ErrNoEcharts)
	}
	w, h := c.dims()
	req, err := json.Marshal(map[string]any{"width": w, "height": h, "option": option})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, "-e", ssrScript)
	cmd.Env = append(os.Environ(), "LREG_ECHARTS_JS="+filepath.Join(dir, "dist", "echarts.js"))
	cmd.Stdin = bytes.NewReader(req)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("plot %q: rendering SVG with node and %s: %v: %s", c.title, dir, err, strings.TrimSpace(stderr.String()))
	}
	svg := out.Bytes()
	if !bytes.HasPrefix(svg, []byte("<svg")) {
		return nil, errors.New("plot: node's echarts wrote no SVG: " + strings.TrimSpace(stderr.String()))
	}
	return svg, nil
}
