package lab

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// requireJupyterLab skips the test where .venv has no JupyterLab (a failure with LREG_REQUIRE_NOTEBOOKS=1).
func requireJupyterLab(t *testing.T, root string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(root, ".venv", "bin", "jupyter-lab")); err != nil {
		if os.Getenv("LREG_REQUIRE_NOTEBOOKS") == "1" {
			t.Fatal("LREG_REQUIRE_NOTEBOOKS=1 but .venv has no JupyterLab: ./reproduce.sh --setup-only")
		}
		t.Skip("no JupyterLab in .venv: ./reproduce.sh --setup-only")
	}
}

// TestLabTokenNotInArgv starts JupyterLab as reproduce.sh --lab does (lab.sh) and reads its command line as any
// local user can (/proc/PID/cmdline): the token must not be there, yet the server must ask for it (403 without,
// 200 with). Run as root, the terminals are off: /api/terminals answers 404 even with the token.
func TestLabTokenNotInArgv(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	requireJupyterLab(t, root)
	s := startLab(t, root, os.Environ(), t.TempDir())
	cmdline, err := os.ReadFile(filepath.Join("/proc", itoa(s.pid), "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(string(bytes.TrimRight(cmdline, "\x00")), "\x00")
	if !strings.Contains(strings.Join(args, " "), "jupyter-lab") {
		t.Fatalf("process %d is not JupyterLab (lab.sh should exec it): %q", s.pid, args)
	}
	if bytes.Contains(cmdline, []byte(s.token)) {
		t.Fatalf("the token is on JupyterLab's command line, readable by every local user: %q", args)
	}
	if got := status(s.base+"/api/status", ""); got != 403 {
		t.Errorf("/api/status without the token: HTTP %d, want 403", got)
	}
	if got := status(s.base+"/api/status", s.token); got != 200 {
		t.Errorf("/api/status with the token: HTTP %d, want 200", got)
	}
	if os.Getuid() == 0 {
		if got := status(s.base+"/api/terminals", s.token); got != 404 {
			t.Errorf("JupyterLab run as root serves /api/terminals (HTTP %d, want 404): a root shell for the token's holder", got)
		}
	}
	t.Logf("command line: %q", args)
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestLabSettingsShipped: reproduce.sh installs the project's JupyterLab settings (overrides.json into .venv),
// and the running JupyterLab serves them: news never fetched (so no prompt asking about it), no update check.
func TestLabSettingsShipped(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	requireJupyterLab(t, root)
	want, err := os.ReadFile("overrides.json")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, ".venv", "share", "jupyter", "lab", "settings", "overrides.json"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf(".venv's JupyterLab settings are not the project's (%v): ./reproduce.sh --setup-only installs them", err)
	}
	s := startLab(t, root, os.Environ(), t.TempDir())
	req, _ := http.NewRequest("GET", s.base+"/lab/api/settings/@jupyterlab/apputils-extension:notification", nil)
	req.Header.Set("Authorization", "token "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The overrides are the defaults of the plugin's schema that JupyterLab serves (user settings would win).
	var settings struct {
		Settings map[string]any `json:"settings"`
		Schema   struct {
			Properties map[string]struct {
				Default any `json:"default"`
			} `json:"properties"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&settings); err != nil {
		t.Fatalf("settings of the notification plugin (HTTP %d): %v", resp.StatusCode, err)
	}
	p := settings.Schema.Properties
	if p["fetchNews"].Default != "false" || p["checkForUpdates"].Default != false || len(settings.Settings) > 0 {
		t.Errorf("JupyterLab's notification settings: defaults %v, user settings %v; want fetchNews \"false\" and checkForUpdates false", p, settings.Settings)
	}
}
