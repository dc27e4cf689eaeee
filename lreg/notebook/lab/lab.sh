#!/usr/bin/env bash
# lab.sh NOTEBOOK_DIR PORT [JUPYTER-LAB OPTIONS...]: the project's JupyterLab (.venv) on 127.0.0.1:PORT, serving
# NOTEBOOK_DIR. reproduce.sh --lab and the JupyterLab tests start it through this script.
#
# The token comes from $JUPYTER_TOKEN, which JupyterLab reads itself: it is never on the command line, where any
# local user reads it (/proc/PID/cmdline, ps). Run as root, JupyterLab's terminals are off (a terminal of a root
# server is a root shell for whoever has the token).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
dir=${1:?lab.sh: NOTEBOOK_DIR PORT [options]} port=${2:?lab.sh: NOTEBOOK_DIR PORT [options]}
shift 2
[ -n "${JUPYTER_TOKEN:-}" ] || { echo "lab.sh: set JUPYTER_TOKEN (the token JupyterLab asks for)" >&2; exit 2; }
export JUPYTER_TOKEN
unset JUPYTER_TOKEN_FILE
root_opts=()
[ "$(id -u)" = 0 ] && root_opts=(--allow-root --ServerApp.terminals_enabled=False)
exec "$root/.venv/bin/jupyter-lab" --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port="$port" \
  --ServerApp.port_retries=0 --ServerApp.root_dir="$dir" "${root_opts[@]}" "$@"
