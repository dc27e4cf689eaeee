#!/usr/bin/env bash
# The GPU table of `lreg bench` (issue 24), sized to fit one short lease of a GPU machine that has JAX's CUDA
# plugin and no Go: build here, carry the binary, run this there from the repository root.
#
#   go build -o bin/lreg ./lreg/cmd/lreg        # here; the binary needs only libc
#   device run, carry ["bin"], command "bash docs/perf/device-bench.sh", timeout_s 540
#
# It writes to $OUT (runs/device where $OUT is unset): device.txt (nvidia-smi and the backend lreg chose),
# meta-bench-xla.md and .json (the meta-steps), step-bench-xla.md and .json (the optimizee steps), bench.log
# (everything printed). Each part has its own time limit, so a slow compile loses one table, not the lease.
# LREG_DEVICE_BENCH_STEPS sets the timed calls per row (default 5), LREG_DEVICE_BENCH_LOS the LOs in one graph
# (default 1,4,16; a try on a CPU: LREG_DEVICE_BENCH_LOS=1 LREG_DEVICE_BENCH_STEPS=1).
set -u
cd "$(dirname "$0")/../.."
out=${OUT:-runs/device}
mkdir -p "$out"
export GOMLX_NO_AUTO_INSTALL=1
if [ ! -x bin/lreg ]; then
	echo "device-bench: bin/lreg is missing: build it here (go build -o bin/lreg ./lreg/cmd/lreg) and carry bin" >&2
	exit 2
fi
steps=${LREG_DEVICE_BENCH_STEPS:-5}
los=${LREG_DEVICE_BENCH_LOS:-1,4,16}
{
	date -u
	nvidia-smi 2>&1 || echo "no nvidia-smi"
	bin/lreg backend 2>&1
} >"$out/device.txt"
cat "$out/device.txt"

# Meta-steps: the plain and SAM meta-losses, both graph forms, 1, 4 and 16 LOs in one graph (where batching
# LOs should pay on a GPU). Then the optimizee steps at meta-test, 1 to 100 runs batched.
timeout 330 bin/lreg bench --reg none,sam --meta-runs 1 --los "$los" --runs '' --steps "$steps" \
	--out "$out/meta" 2>&1 | tee "$out/bench.log"
timeout 150 bin/lreg bench --meta-runs '' --runs 1,10,100 --optimizees mlp-sigmoid,cnn --methods lo,sgd,adam \
	--steps "$steps" --out "$out/step" 2>&1 | tee -a "$out/bench.log"
# Two folders down at most come back from the device: keep the tables at the top.
for part in meta step; do
	for f in "$out/$part"/bench-*; do
		[ -e "$f" ] && mv "$f" "$out/${part}-$(basename "$f")"
	done
	rmdir "$out/$part" 2>/dev/null
done
ls -la "$out"
