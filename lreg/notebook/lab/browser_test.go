package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lreg/lreg/lreg/plot/browser"
)

// lab is what the JupyterLab test needs: JupyterLab in the project's .venv (./reproduce.sh --setup-only
// installs it from requirements/notebooks.txt), Node with playwright-core (npm ci), and Chromium. Without one of them
// the test is skipped with what to install, unless LREG_REQUIRE_NOTEBOOKS=1 (CI), where that fails.
type lab struct {
	jupyterLab, node, script, chromium string
}

func requireLab(t *testing.T, root string) lab {
	t.Helper()
	l, missing := findLab(root)
	if len(missing) > 0 {
		msg := "the JupyterLab test needs " + strings.Join(missing, ", ")
		if os.Getenv("LREG_REQUIRE_NOTEBOOKS") == "1" {
			t.Fatal("LREG_REQUIRE_NOTEBOOKS=1 but " + msg)
		}
		t.Skip("skipping: " + msg)
	}
	if testing.Short() {
		t.Skip("runs a notebook in JupyterLab through the browser (a few minutes)")
	}
	return l
}

// findLab finds what the JupyterLab tests need, and lists what is missing.
func findLab(root string) (lab, []string) {
	var l lab
	var missing []string
	l.jupyterLab = filepath.Join(root, ".venv", "bin", "jupyter-lab")
	if _, err := os.Stat(l.jupyterLab); err != nil {
		missing = append(missing, "JupyterLab in .venv (./reproduce.sh --setup-only)")
	}
	var err error
	if l.node, err = exec.LookPath("node"); err != nil {
		missing = append(missing, "node (apt-get install nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "playwright-core", "package.json")); err != nil {
		missing = append(missing, "playwright-core (npm ci in the repository root)")
	}
	if l.chromium, err = browser.Chromium(); err != nil {
		missing = append(missing, "Chromium (apt-get install chromium)")
	}
	l.script = filepath.Join(root, "lreg", "notebook", "lab", "browser", "lab.js")
	return l, missing
}

// server is a JupyterLab serving dir on a free loopback port; it is stopped (with its kernels) at the test's end.
type server struct {
	url   string // .../lab?token=...
	base  string // http://127.0.0.1:PORT
	token string
	pid   int // jupyter-lab's process (lab.sh execs it)
}

// startLab starts lab.sh (as reproduce.sh --lab does) on a free loopback port, with the token in its
// environment, and waits until it answers; extra are more jupyter-lab options.
func startLab(t *testing.T, root string, env []string, dir string, extra ...string) server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	logPath := filepath.Join(t.TempDir(), "jupyterlab.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{dir, fmt.Sprint(port), "--LabApp.workspaces_dir=" + t.TempDir(),
		"--LabApp.extension_manager=readonly"}, extra...)
	cmd := exec.Command(filepath.Join(root, "lreg", "notebook", "lab", "lab.sh"), args...)
	cmd.Env = append(env, "JUPYTER_TOKEN="+token, "JUPYTER_CONFIG_DIR="+t.TempDir(), "JUPYTER_RUNTIME_DIR="+t.TempDir())
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its kernels and their cell programs stop with it
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		logFile.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("JupyterLab's log:\n%s", tail(string(b), 6000))
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for start := time.Now(); ; time.Sleep(300 * time.Millisecond) {
		if status(base+"/api/status", token) == 200 {
			break
		}
		select {
		case <-done:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("JupyterLab stopped (%v):\n%s", cmd.ProcessState, tail(string(b), 4000))
		default:
		}
		if time.Since(start) > 90*time.Second {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("JupyterLab did not answer on %s in 90 s:\n%s", base, tail(string(b), 4000))
		}
	}
	return server{url: base + "/lab?token=" + token, base: base, token: token, pid: cmd.Process.Pid}
}

// status is the HTTP status of a GET of url, with the token in the Authorization header unless it is empty;
// 0 when nothing answers.
func status(url, token string) int {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return 0
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (l lab) start(t *testing.T, root string, env []string, dir string) server {
	t.Helper()
	// Private settings: every cell stays in the page (no windowing), so that the test sees every output.
	settings := t.TempDir()
	p := filepath.Join(settings, "@jupyterlab", "notebook-extension", "tracker.jupyterlab-settings")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(`{"windowingMode": "none"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return startLab(t, root, env, dir, "--LabApp.expose_app_in_browser=True", "--LabApp.user_settings_dir="+settings)
}

// observed is what lab.js saw in the page.
type observed struct {
	Stderr []string `json:"stderr"`
	Errors []string `json:"errors"`
	Charts []struct {
		Title    string   `json:"title"`
		Paths    int      `json:"paths"`
		Width    float64  `json:"width"`
		Overlaps []string `json:"overlaps"`
	} `json:"charts"`
	Pictures []struct {
		Alt   string `json:"alt"`
		SVG   bool   `json:"svg"`
		Shown bool   `json:"shown"`
	} `json:"pictures"`
	Reuse   []string `json:"reuse"`
	Bars    []string `json:"bars"`
	Prompts []string `json:"prompts"`
	Trusted []bool   `json:"trusted"`
	Toasts  []string `json:"toasts"`
}

type labResult struct {
	RunAllSeconds float64  `json:"runAllSeconds"`
	RerunSeconds  float64  `json:"rerunSeconds"`
	EditedSource  string   `json:"editedSource"`
	First         observed `json:"first"`
	Second        observed `json:"second"`
	Reopened      observed `json:"reopened"`
	ConsoleErrors []string `json:"consoleErrors"`
	Notebooks     []struct {
		Name     string   `json:"name"`
		Seconds  float64  `json:"seconds"`
		Observed observed `json:"observed"`
	} `json:"notebooks"` // runall
}

// drive runs lab.js in mode on notebook and returns what it saw.
func (l lab) drive(t *testing.T, mode string, s server, notebook, shots string) labResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.node, l.script, mode, s.url, notebook, shots)
	cmd.Env = append(os.Environ(), "LREG_CHROMIUM="+l.chromium)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	t.Logf("lab.js %s:\n%s", mode, tail(errb.String(), 3000))
	if err != nil {
		t.Fatalf("lab.js %s %s: %v\n%s", mode, notebook, err, tail(errb.String(), 6000))
	}
	var r labResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("lab.js printed no result (%v): %q", err, tail(out.String(), 2000))
	}
	return r
}

// screenshots is where the JupyterLab test leaves its screenshots: $LREG_SCREENSHOTS, else figures/jupyterlab.
func screenshots(t *testing.T, root string) string {
	dir := os.Getenv("LREG_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(root, "figures", "jupyterlab")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checkDrawn: no error or stderr output, every chart drawn (SVG paths inside), the progress bars finished,
// every code cell run.
func checkDrawn(t *testing.T, when string, o observed, charts, minBars int) {
	t.Helper()
	if len(o.Errors) > 0 || len(o.Stderr) > 0 {
		t.Errorf("%s: the page shows error output %q and stderr %q", when, o.Errors, o.Stderr)
	}
	if len(o.Charts) != charts {
		t.Errorf("%s: %d charts in the page, want %d", when, len(o.Charts), charts)
	}
	for _, c := range o.Charts {
		// A drawn chart: axes, grid lines, bars or curves, legend items; an empty one has none.
		if c.Paths < 10 || c.Width < 100 {
			t.Errorf("%s: chart %q not drawn: %d SVG paths, %.0f px wide", when, c.Title, c.Paths, c.Width)
		}
		// No text over another: legend, axis names and labels, title (issue 25.6).
		if len(c.Overlaps) > 0 {
			t.Errorf("%s: chart %q draws text over text: %q", when, c.Title, c.Overlaps)
		}
	}
	// One bar per long step (the LOs' meta-trainings, the fits), each finished.
	if len(o.Bars) < minBars {
		t.Errorf("%s: progress bars %q, want %d or more", when, o.Bars, minBars)
	}
	for _, b := range o.Bars {
		if !strings.Contains(b, "done in") {
			t.Errorf("%s: progress bar %q not finished", when, b)
		}
	}
	// No news prompt ("Would you like to get notified about official Jupyter news?"), no other toast.
	if len(o.Toasts) > 0 {
		t.Errorf("%s: JupyterLab shows notifications %q (the shipped overrides.json turns its news off)", when, o.Toasts)
	}
	for i, p := range o.Prompts {
		if !strings.HasPrefix(p, "[") || strings.Contains(p, "*") || p == "[ ]:" {
			t.Errorf("%s: code cell %d's prompt is %q: not run", when, i, p)
		}
	}
}

// TestJupyterLabUserPath is a person's path through JupyterLab: open 5-early-evidence, Run All Cells from
// the menu, see the charts and the Computed sentence; type a new weight decay into the settings cell, run it
// and the cells below, see that only SGD-L2's fits were recomputed; save. Then the saved notebook, reopened
// untrusted (as a shared file is), shows its figures without running anything.
func TestJupyterLabUserPath(t *testing.T) {
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	l := requireLab(t, repo)
	root := spaceCheckout(t, repo) // a checkout at a path with a space, its notebooks copies
	env := kernel(t, root)
	dir := filepath.Join(root, "notebooks")
	const name = "5-early-evidence.ipynb"
	runDir, figures := t.TempDir(), t.TempDir()
	env = append(env, "LREG_RUN_DIR="+runDir, "LREG_FIGURES="+figures)
	s := l.start(t, root, env, dir)
	shots := screenshots(t, repo)

	start := time.Now()
	r := l.drive(t, "run", s, name, shots)
	t.Logf("JupyterLab: Run All %.0f s, the edited settings and the cells below %.0f s (%.0f s in all, with the browser)",
		r.RunAllSeconds, r.RerunSeconds, time.Since(start).Seconds())
	const charts = 6                                   // Figure 2's two bar charts, Figures 9-12
	checkDrawn(t, "after Run All", r.First, charts, 3) // meta-training LO-none and LO-L2, the fits
	if len(r.First.Reuse) != 1 || !strings.HasPrefix(r.First.Reuse[0], "Computed all 32 ") {
		t.Errorf("after Run All: %q, want all 32 fits computed", r.First.Reuse)
	}
	if !strings.Contains(r.EditedSource, "\tcfg.WeightDecay = 0.3 // SGD-L2's weight decay, changed in the browser\n") ||
		strings.Contains(r.EditedSource, "// cfg.WeightDecay = 0.1") {
		t.Errorf("the settings cell after typing:\n%s", r.EditedSource)
	}
	checkDrawn(t, "after the edit", r.Second, charts, 1)
	if len(r.Second.Reuse) != 1 || !strings.HasPrefix(r.Second.Reuse[0], "Computed 8 of 32 ") {
		t.Errorf("after the edit: %q, want 8 of 32 fits computed (SGD-L2's), the rest reused", r.Second.Reuse)
	}
	for _, p := range []string{"jupyterlab-5-early-evidence.png", "jupyterlab-5-early-evidence-edited.png"} {
		if st, err := os.Stat(filepath.Join(shots, p)); err != nil || st.Size() < 20000 {
			t.Errorf("screenshot %s: %v", p, err)
		}
	}

	// The saved notebook holds each chart as HTML and as SVG; a copy whose signature no longer matches opens
	// untrusted (a notebook from someone else): no script runs, and each chart shows as its static picture.
	saved, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var nb map[string]any
	if err := json.Unmarshal(saved, &nb); err != nil {
		t.Fatal(err)
	}
	bundles := 0
	for _, c := range nb["cells"].([]any) {
		for _, o := range asList(c.(map[string]any)["outputs"]) {
			data, _ := o.(map[string]any)["data"].(map[string]any)
			if svg, ok := data["image/svg+xml"]; ok {
				if html := text(data["text/html"]); !strings.Contains(html, `class="lreg-chart"`) || !strings.HasPrefix(text(svg), "<svg") {
					t.Errorf("a saved chart output lacks its HTML or SVG: %.200s", html)
				}
				bundles++
			}
		}
	}
	if bundles != charts {
		t.Errorf("the saved notebook holds %d chart outputs with HTML and SVG, want %d", bundles, charts)
	}
	nb["metadata"].(map[string]any)["lreg_reopened"] = true // the signature no longer matches: untrusted
	shared, _ := json.MarshalIndent(nb, "", " ")
	const sharedName = "5-early-evidence-shared.ipynb"
	if err := os.WriteFile(filepath.Join(dir, sharedName), shared, 0o644); err != nil {
		t.Fatal(err)
	}
	re := l.drive(t, "reopen", s, sharedName, shots).Reopened
	for i, tr := range re.Trusted {
		if tr {
			t.Errorf("code cell %d of the reopened copy is trusted: the test would not see what an untrusted notebook shows", i)
		}
	}
	if len(re.Charts) != charts || len(re.Pictures) != charts {
		t.Errorf("reopened untrusted: %d chart outputs, %d pictures, want %d of each", len(re.Charts), len(re.Pictures), charts)
	}
	for _, c := range re.Charts {
		if c.Paths != 0 {
			t.Errorf("reopened untrusted: chart %q drew %d paths: its script ran", c.Title, c.Paths)
		}
	}
	for _, p := range re.Pictures {
		if !p.SVG || !p.Shown {
			t.Errorf("reopened untrusted: picture %q not shown (svg %v, shown %v)", p.Alt, p.SVG, p.Shown)
		}
	}
	if len(re.Reuse) != 1 || len(re.Errors) > 0 {
		t.Errorf("reopened untrusted: sentence %q, errors %q", re.Reuse, re.Errors)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
