#!/usr/bin/env bash
# The wheel works outside the clone. Builds the sdist and, from it, the wheel (python -m build:
# so the sdist must carry the package data too), installs the wheel with its dependencies
# from PyPI into a fresh venv in a temporary folder, and from an empty folder there runs
# what a user runs first. Asserts that the outputs land under that folder's results/, that
# the manifests record no commit (no clone), and that nothing is written into the venv
# (site-packages included; only Python's own __pycache__ is allowed).
#
#     bash ci/wheel_smoke.sh                        # python3
#     PYTHON=~/.pyenv/versions/3.13.0/bin/python3 bash ci/wheel_smoke.sh
#
# PYTHON (or PY) names the interpreter; .ci/run runs it on the default python3 (3.11) and,
# where pyenv has one, on Python 3.13 (whose venv gets the newest Mesa). Uses pip's cache
# (~/.cache/pip); about 1-2 minutes of commands after the install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-${PY:-python3}}
TMP=$(mktemp -d /tmp/snowball-wheel.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "wheel: building in $TMP with $($PY --version)"
PYV=$($PY -c "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")

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
    local rc=0
    "$@" >"$TMP/out.txt" 2>"$TMP/err.txt" || rc=$?
    if [ "$rc" -ne 0 ]; then
        cat "$TMP/out.txt" "$TMP/err.txt"
        fail "exit status $rc from: ${*#"$TMP"/}"
    fi
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

# --days 1 is an override: the run folders are <scenario>-seed0-days1-<hash> (snowball run).
shopt -s nullglob
folders=(results/runs/default-seed0-days1-* results/runs/funnel-seed0-days1-*
    results/validation-quick results/quick/fan_accumulation)
shopt -u nullglob
[ ${#folders[@]} -eq 4 ] || fail "expected 4 output folders in results/, found: ${folders[*]}"
for m in "${folders[@]}"; do
    [ -f "$TMP/work/$m/manifest.json" ] || fail "no $m/manifest.json in the current folder"
    "$TMP/venv/bin/python" - "$TMP/work/$m/manifest.json" <<'EOF2' || fail "$m: commit not null"
import json, sys
sys.exit(json.load(open(sys.argv[1]))["commit"] is not None)
EOF2
done
[ ! -e "$TMP/work/README.md" ] || fail "a README.md was written outside the clone"
written=$(find "$TMP/venv" -newer "$TMP/installed" ! -path '*/__pycache__*' -print)
[ -z "$written" ] || fail "written into the venv: $written"
MESA=$("$TMP/venv/bin/python" -c "import importlib.metadata as m; print(m.version('mesa'))")
echo "wheel: Python $PYV, Mesa $MESA: outputs under the current folder, none in the venv" \
    "($SECONDS s in all)"
