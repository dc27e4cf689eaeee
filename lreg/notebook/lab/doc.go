// Package lab holds what runs the notebooks of notebooks/ outside the notebooks themselves: lab.sh (the project's
// JupyterLab, token in its environment), the GoNB kernel's launcher and its `go` wrapper (kernel/: the module
// wiring every notebook needs, done when the kernel starts), JupyterLab's settings (overrides.json), and the
// tests that execute every notebook headless and drive JupyterLab in Chromium (browser/lab.js).
package lab
