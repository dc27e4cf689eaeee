#!/usr/bin/env bash
# kernel.sh GONB CONNECTION_FILE: the GoNB kernel of lreg's notebooks (the kernel spec that install.sh writes runs
# it). It starts GONB with this folder's bin/go first on PATH: that wrapper points GoNB's temporary module at this
# repository when GoNB creates it, so that no notebook needs a cell of module wiring. The repository is the one
# this script is in ($LREG_ROOT overrides it), wherever it was checked out, spaces in its path included.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LREG_ROOT=${LREG_ROOT:-$(cd "$here/../../../.." && pwd)}
LREG_REAL_GO=""
IFS=: read -ra dirs <<<"$PATH:/usr/local/go/bin"
for d in "${dirs[@]}"; do
  [ "$d" != "$here/bin" ] && [ -x "$d/go" ] && { LREG_REAL_GO=$d/go; break; }
done
[ -n "$LREG_REAL_GO" ] || { echo "kernel.sh: no go on PATH ($PATH)" >&2; exit 1; }
export LREG_ROOT LREG_REAL_GO PATH="$here/bin:$PATH"
exec "${1:?kernel.sh: GONB CONNECTION_FILE}" --kernel "${2:?kernel.sh: GONB CONNECTION_FILE}" --logtostderr
