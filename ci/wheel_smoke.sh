#!/usr/bin/env bash
# The wheel works outside the clone. Builds the sdist and, from it, the wheel (python -m build:
# so the sdist must carry the package data too), installs the wheel with its dependencies
# from PyPI into a fresh venv in a temporary folder, and from an empty folder there runs
# what a user runs first. Asserts that the outputs land under that folder's results/, that
# the manifests record no commit (no clone), and that nothing is written into the venv
# (site-packages included; only Python's own __pycache__ is allowed).
#
#     bash ci/wheel_smoke.sh            # PY=python3.12 to use another interpreter
#
# Uses pip's cache (~/.cache/pip); about 1-2 minutes of commands after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-python3}
TMP=$(mktemp -d /tmp/snowball-wheel.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "wheel: building in $TMP with $($PY --version)"

fail() {
    echo "wheel: FAILED: $*" >&2
    exit 1
}

$PY -m venv "$TMP/tool"
"$TMP/tool/bin/python" -m pip install --quiet --disable-pip-version-check build
"$TMP/tool/bin/python" -m build --outdir "$TMP/dist" "$ROOT" >"$TMP/build.log" 2>&1 \
    || { tail -20 "$TMP/build.log"; fail "python -m build"; }
SDIST=$(ls "$TMP"/dist/*.tar.gz)
WHEEL=$(ls "$TMP"/dist/*.whl)
tar tzf "$SDIST" >"$TMP/sdist.txt"
for f in scenarios/default.toml validation/polya.toml sweeps/sobol_roi.toml; do
    grep -q "/experiments/$f\$" "$TMP/sdist.txt" || fail "the sdist lacks experiments/$f"
done
$PY - "$WHEEL" <<'EOF' || fail "the wheel holds benchmarks/ or tests/"
import sys, zipfile
tops = {name.split("/")[0] for name in zipfile.ZipFile(sys.argv[1]).namelist()}
sys.exit(bool(tops & {"benchmarks", "tests"}))
EOF

$PY -m venv "$TMP/venv"
"$TMP/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$WHEEL"
SNOWBALL=$TMP/venv/bin/snowball
touch "$TMP/installed"
sleep 1 # file times have a resolution: later writes must be visibly newer

mkdir "$TMP/work"
cd "$TMP/work"
timed() {
    local start=$SECONDS
    "$@" >"$TMP/out.txt" 2>"$TMP/err.txt" || {
        cat "$TMP/out.txt" "$TMP/err.txt"
        fail "exit status $? from: ${*#"$TMP"/}"
    }
    echo "wheel: $(basename "$1") ${*:2}  ($((SECONDS - start)) s)"
}

timed "$SNOWBALL" scenarios
grep -q '^default ' "$TMP/out.txt" || fail "snowball scenarios does not list default"
grep -q '^funnel ' "$TMP/out.txt" || fail "snowball scenarios does not list funnel"
# The named scenarios at one day (the same code path as seven, in a seventh of the time).
timed "$SNOWBALL" run --days 1 --quiet
timed "$SNOWBALL" run funnel --days 1 --quiet
timed "$SNOWBALL" validate --quick --quiet
timed "$SNOWBALL" experiment --list
grep -q '^fan_accumulation ' "$TMP/out.txt" || fail "experiment --list lacks fan_accumulation"
# fan_accumulation --quick: one arm of two seeds, the cheapest study.
timed "$SNOWBALL" experiment fan_accumulation --quick --quiet

for m in results/runs/default-seed0 results/runs/funnel-seed0 results/validation-quick \
    results/quick/fan_accumulation; do
    [ -f "$TMP/work/$m/manifest.json" ] || fail "no $m/manifest.json in the current folder"
    "$TMP/venv/bin/python" - "$TMP/work/$m/manifest.json" <<'EOF' || fail "$m: commit not null"
import json, sys
sys.exit(json.load(open(sys.argv[1]))["commit"] is not None)
EOF
done
[ ! -e "$TMP/work/README.md" ] || fail "a README.md was written outside the clone"
written=$(find "$TMP/venv" -newer "$TMP/installed" ! -path '*/__pycache__*' -print)
[ -z "$written" ] || fail "written into the venv: $written"
echo "wheel: outputs under the current folder, none in the venv ($SECONDS s in all)"
