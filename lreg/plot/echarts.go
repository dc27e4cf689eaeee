package plot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoEcharts is returned (wrapped) when the npm package echarts cannot be found.
var ErrNoEcharts = errors.New("echarts not found")

// minJS is the browser bundle inside the npm package echarts.
const minJS = "dist/echarts.min.js"

// EchartsDir is the folder of the npm package echarts: $LREG_ECHARTS_DIR when set, else the first
// node_modules/echarts found from the working directory upwards (notebooks run in notebooks/, tests in
// lreg/plot, both below the repository root where `npm ci` installs it).
func EchartsDir() (string, error) {
	const fix = "run `npm ci` in the repository root, or ./reproduce.sh, or set LREG_ECHARTS_DIR to the folder of the npm package echarts"
	if dir := os.Getenv("LREG_ECHARTS_DIR"); dir != "" {
		if !isFile(filepath.Join(dir, minJS)) {
			return "", fmt.Errorf("%w: LREG_ECHARTS_DIR=%s has no %s: %s", ErrNoEcharts, dir, minJS, fix)
		}
		return filepath.Abs(dir)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		pkg := filepath.Join(dir, "node_modules", "echarts")
		if isFile(filepath.Join(pkg, minJS)) {
			return pkg, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("%w (no node_modules/echarts/%s in %s or above): %s", ErrNoEcharts, minJS, wd, fix)
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// libraryScript is echarts' browser bundle wrapped for inlining in a <script> element. The wrapper hides
// window.define while the bundle runs: where require.js is loaded (the classic notebook and nbconvert's
// HTML), echarts' UMD header would register an AMD module instead of setting window.echarts, and every
// chart would stay blank.
func libraryScript() (string, error) {
	dir, err := EchartsDir()
	if err != nil {
		return "", err
	}
	js, err := os.ReadFile(filepath.Join(dir, minJS))
	if err != nil {
		return "", err
	}
	src := string(js)
	if strings.Contains(strings.ToLower(src), "</script") {
		// Never true for echarts 5.6.0; kept so that another version cannot end the element early.
		src = strings.ReplaceAll(src, "</script", `<\/script`)
	}
	return "<script>\n(function(){var lregDefine=window.define;window.define=undefined;try{\n" + src +
		"\n}finally{window.define=lregDefine;}})();\n</script>\n", nil
}
