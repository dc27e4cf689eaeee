#!/usr/bin/env bash
# .ci/fresh-python.sh [--install] PYTHON...  |  .ci/fresh-python.sh [--install] --discover
#
# Does a new user's Python get lreg's Python packages? For each interpreter (a path or a command): a clean virtual
# environment in a temporary folder with the pip that Python bundles (what reproduce.sh makes), then, each on its
# own as reproduce.sh installs them, `pip install --dry-run --require-hashes` of requirements/xla.txt (the XLA
# CPU engine) and of requirements/notebooks.txt (JupyterLab, nbconvert). With --require-hashes pip downloads every
# file it picks (no metadata-only shortcut) and checks its SHA-256, so a pin that has no file for this Python, a
# dependency missing from the lock or a wrong hash fails here. --install installs them for real instead (into the
# temporary folder; pip older than 22.2, which has no --dry-run, always does). Python < 3.9 checks the engine only:
# the notebooks' lock is for Python 3.9+, and reproduce.sh does not try it there.
#
# --discover checks /usr/bin/python3 (the system's), python3 and every python3.N on PATH, and every Python 3.9+
# that pyenv has installed; one interpreter checked once however many names lead to it.
#
# Prints one line per interpreter, exits non-zero if any failed. Needs PyPI (pip's cache makes a second run fast).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
install=0 discover=0 pythons=()
for a in "$@"; do
  case "$a" in
    --install) install=1 ;;
    --discover) discover=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    -*) echo "fresh-python.sh: unknown option '$a' (use --install, --discover, or interpreters)" >&2; exit 2 ;;
    *) pythons+=("$a") ;;
  esac
done
if [ "$discover" = 1 ]; then
  pythons+=(/usr/bin/python3 python3)
  for n in $(seq 6 20); do pythons+=("python3.$n"); done
  pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for p in "$pyenv_root"/versions/3.*/bin/python3; do [ -x "$p" ] && pythons+=("$p"); done
fi
[ ${#pythons[@]} -gt 0 ] || { echo "fresh-python.sh: name the interpreters to check, or --discover" >&2; exit 2; }

# first_error OUTPUT: pip's first line that says what went wrong (the line reproduce.sh repeats).
first_error() {
  awk '/^ERROR: / && !/^ERROR: Ignored the following versions/ {print; found=1; exit} END {exit !found}' <<<"$1" ||
    grep -v '^[[:space:]]*$' <<<"$1" | tail -n 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
seen="" failed=0 checked=0
for py in "${pythons[@]}"; do
  # Which interpreter this name leads to (pyenv's shims name versions that are not selected: those fail here).
  id=$("$py" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null) || {
    [ "$discover" = 1 ] && continue
    echo "FAIL  $py: does not run"; failed=1; continue; }
  grep -qxF "$id" <<<"$seen" && continue
  seen+="$id"$'\n'
  version=$("$py" -c 'import platform; print(platform.python_version())')
  major_minor=$("$py" -c 'import sys; print(sys.version_info >= (3, 9))')
  if [ "$discover" = 1 ] && [ "$major_minor" != True ] && [ "$py" != /usr/bin/python3 ]; then continue; fi
  checked=$((checked + 1))
  t0=$SECONDS
  venv="$tmp/venv-$checked"
  label="Python $version ($py -> $id)"
  if ! out=$("$py" -m venv "$venv" 2>&1); then
    echo "FAIL  $label: python -m venv failed: $(tail -n 1 <<<"$out")"; failed=1; continue
  fi
  pip_version=$("$venv/bin/python" -m pip --version | awk '{print $2}')
  dry=1
  [ "$install" = 1 ] && dry=0
  "$venv/bin/python" -c 'import sys; from pip import __version__ as v; sys.exit(tuple(map(int, v.split(".")[:2])) < (22, 2))' || dry=0
  results=() status=ok
  sets=(xla)
  [ "$major_minor" = True ] && sets+=(notebooks)
  for set in "${sets[@]}"; do
    args=(install --disable-pip-version-check --require-hashes -r "$root/requirements/$set.txt")
    [ "$dry" = 1 ] && args+=(--dry-run --ignore-installed --report "$tmp/$set-$checked.json")
    if ! out=$("$venv/bin/python" -m pip "${args[@]}" 2>&1); then
      results+=("$set FAILED: $(first_error "$out" | cut -c1-400)"); status=FAIL; continue
    fi
    # What it took: from pip's report (dry run) or from the environment (installed).
    if [ "$dry" = 1 ]; then
      pkgs=$("$venv/bin/python" -c 'import json, re, sys
r = json.load(open(sys.argv[1]))
print("\n".join(re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower() + "==" + i["metadata"]["version"] for i in r["install"]))' "$tmp/$set-$checked.json")
    else
      pkgs=$("$venv/bin/python" -m pip list --disable-pip-version-check --format=freeze 2>/dev/null | tr 'A-Z_' 'a-z-')
    fi
    case "$set" in
      xla) v=$(grep '^xla-cpu-pjrt==' <<<"$pkgs" || true)
           [ -n "$v" ] || { results+=("xla FAILED: pip installed no xla-cpu-pjrt"); status=FAIL; continue; }
           results+=("$v") ;;
      notebooks) v=$(grep '^jupyterlab==' <<<"$pkgs" || true)
           [ -n "$v" ] || { results+=("notebooks FAILED: pip installed no jupyterlab"); status=FAIL; continue; }
           results+=("$v, $(grep '^nbconvert==' <<<"$pkgs" || true) ($(grep -c . <<<"$pkgs") packages)") ;;
    esac
  done
  [ "$major_minor" = True ] || results+=("notebooks not checked (Python < 3.9)")
  mode=$([ "$dry" = 1 ] && echo "dry run" || echo "installed")
  printf '%-5s %s, pip %s, %s, %d s: %s\n' "$status" "$label" "$pip_version" "$mode" $((SECONDS - t0)) "$(IFS=';'; echo "${results[*]}" | sed 's/;/; /g')"
  [ "$status" = ok ] || failed=1
  rm -rf "$venv"
done
[ "$checked" -gt 0 ] || { echo "fresh-python.sh: no interpreter found to check" >&2; exit 1; }
exit $failed
