#!/bin/bash
# Submit the study to Slurm: the array (study.sbatch, one task per shard) and its merge (merge.sbatch, after the
# array succeeds), and print both job ids. Run it from the folder that holds bin/lreg and data/ on a file system
# every node sees (the jobs run there).
#
#   deploy/slurm/submit.sh [--shards N] [--tasks LIST] [--size S | --design FILE] [--dir DIR] [--data DIR]
#                          [--bin PATH] [--backend B] [--out DIR] [--after JOBID] [-- SBATCH OPTIONS...]
#
#   --shards N      number of shards, one array task each (default 16, as in study.sbatch)
#   --tasks LIST    which tasks to submit (default 0-(N-1)); e.g. --tasks 2,5 after those failed or were
#                   cancelled: they resume, skipping the units they finished
#   --after JOBID   with --tasks: an earlier array of this study whose tasks the merge also waits for (whatever
#                   their end), so that the merge sees every shard
#   --size S, --design FILE, --dir DIR, --data DIR, --bin PATH, --backend B, --out DIR
#                   LREG_STUDY, LREG_STUDY_DIR, LREG_DATA, LREG_BIN, LREG_BACKEND, LREG_OUT (see study.sbatch);
#                   defaults: --size study, --dir runs/study-slurm, --data data, --bin bin/lreg
#   -- ...          further options for the array's sbatch (they override study.sbatch's #SBATCH lines),
#                   e.g. -- --partition=cpu --time=06:00:00
#
# The logs go to DIR/logs. A task that fails (or is cancelled) makes Slurm cancel the merge
# (--kill-on-invalid-dep); submit the task again with --tasks I --after ARRAYJOB, which submits a new merge.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shards=16 tasks="" after="" extra=()
export LREG_STUDY=${LREG_STUDY:---size study} LREG_STUDY_DIR=${LREG_STUDY_DIR:-runs/study-slurm}
export LREG_DATA=${LREG_DATA:-data} LREG_BIN=${LREG_BIN:-bin/lreg} LREG_BACKEND=${LREG_BACKEND:-}
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
need() { [ $# -ge 2 ] || { echo "submit.sh: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --shards) need "$@"; shards=$2; shift 2 ;;
    --tasks) need "$@"; tasks=$2; shift 2 ;;
    --after) need "$@"; after=$2; shift 2 ;;
    --size) need "$@"; LREG_STUDY="--size $2"; shift 2 ;;
    --design) need "$@"; LREG_STUDY="--design $2"; shift 2 ;;
    --dir) need "$@"; LREG_STUDY_DIR=$2; shift 2 ;;
    --data) need "$@"; LREG_DATA=$2; shift 2 ;;
    --bin) need "$@"; LREG_BIN=$2; shift 2 ;;
    --backend) need "$@"; LREG_BACKEND=$2; shift 2 ;;
    --out) need "$@"; export LREG_OUT=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) usage ;;
    *) echo "submit.sh: unknown option $1" >&2; usage ;;
  esac
done
[[ $shards =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: --shards $shards: want a whole number >= 1" >&2; exit 2; }
tasks=${tasks:-0-$((shards - 1))}
for t in $(echo "$tasks" | tr ',' ' ' | tr '-' ' '); do
  [[ $t =~ ^[0-9]+$ ]] && [ "$t" -lt "$shards" ] || { echo "submit.sh: --tasks $tasks: want tasks in 0-$((shards - 1)), as a list like 0-3 or 2,5" >&2; exit 2; }
done
[ -z "$after" ] || [[ $after =~ ^[0-9]+$ ]] || { echo "submit.sh: --after $after: want a job id" >&2; exit 2; }
[ -x "$LREG_BIN" ] || { echo "submit.sh: $LREG_BIN is not an executable: build it (go build -o bin/lreg ./lreg/cmd/lreg) or give --bin" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "submit.sh: sbatch not found: run this where Slurm's commands are" >&2; exit 2; }
export LREG_SHARDS=$shards
mkdir -p "$LREG_STUDY_DIR/logs"
array=$(sbatch --parsable --array="$tasks" --output="$LREG_STUDY_DIR/logs/lreg-study-%A_%a.out" "${extra[@]}" "$here/study.sbatch")
array=${array%%;*}
dep="afterok:$array${after:+,afterany:$after}"
merge=$(sbatch --parsable --dependency="$dep" --kill-on-invalid-dep=yes \
  --output="$LREG_STUDY_DIR/logs/lreg-study-merge-%j.out" "$here/merge.sbatch")
merge=${merge%%;*}
echo "submitted array job $array (tasks $tasks of $shards shards, $LREG_STUDY) and merge job $merge (--dependency=$dep)"
echo "logs: $LREG_STUDY_DIR/logs/lreg-study-${array}_<task>.out, $LREG_STUDY_DIR/logs/lreg-study-merge-$merge.out; merged into ${LREG_OUT:-$LREG_STUDY_DIR/merged}"
echo "watch: squeue -j $array,$merge; progress: $LREG_BIN study status $LREG_STUDY --shards $shards $LREG_STUDY_DIR/shard-*-of-$shards"
