#!/usr/bin/env bash
# Run every fuzz target of lreg (each `func FuzzX` of a _test.go file, found here so that a new one is never
# left out) for a few seconds each: $LREG_FUZZTIME, default 5s. go test ./... runs only their seed corpora; this
# feeds them new inputs. go test takes one -fuzz target per call, so they run one after another (about 10 s
# each with the build, a minute in all). A failing input is written to the package's testdata/fuzz/FuzzX/ (commit
# it: it becomes a seed) and fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${LREG_FUZZTIME:-5s}"
n=0
while IFS=: read -r file name; do
  pkg="./$(dirname "$file")"
  echo "fuzz: $pkg $name for $fuzztime"
  go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$pkg"
  n=$((n + 1))
done < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' lreg | sed 's/:func /:/' | sort)
if [ "$n" = 0 ]; then
  echo "fuzz: no fuzz target found under lreg/" >&2
  exit 1
fi
echo "fuzz: $n targets, $fuzztime each, no failing input"
