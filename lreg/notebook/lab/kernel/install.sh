#!/usr/bin/env bash
# install.sh GONB JUPYTER_DATA_DIR: writes the kernel spec of lreg's notebooks (JUPYTER_DATA_DIR/kernels/gonb/):
# GoNB (the binary GONB) started through kernel.sh, which wires every notebook to this repository.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gonb=$(cd "$(dirname "${1:?install.sh: GONB JUPYTER_DATA_DIR}")" && pwd)/$(basename "$1")
dir=${2:?install.sh: GONB JUPYTER_DATA_DIR}/kernels/gonb
json() { local s=${1//\\/\\\\}; printf '"%s"' "${s//\"/\\\"}"; }
mkdir -p "$dir"
printf '{"argv": [%s, %s, "{connection_file}"], "display_name": "Go (gonb)", "language": "go", "interrupt_mode": "message", "env": {}}\n' \
  "$(json "$here/kernel.sh")" "$(json "$gonb")" >"$dir/kernel.json.tmp"
mv "$dir/kernel.json.tmp" "$dir/kernel.json"
