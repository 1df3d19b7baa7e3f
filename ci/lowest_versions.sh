#!/usr/bin/env bash
# Are the lower bounds in pyproject.toml true? Installs the LOWEST versions that the project's
# direct dependencies allow (core + the sweep and fast extras; uv's --resolution lowest-direct:
# the project's own requirements at their minimum, everything they pull in at its newest
# compatible version) into a throwaway venv, then runs the core and kernel tests, a tiny
# Latin-hypercube sweep and a tiny Sobol sweep on a local Dask cluster there. Run by hand, not
# in CI: it downloads old wheels, and each of its two passes runs the five test files (about
# 6 min per pass on a quiet 2-core machine, 10-15 min while it is shared; docs/INSTALL.md):
#
#     bash ci/lowest_versions.sh              # Python 3.11 (requires-python's minimum)
#     PY=python3.12 bash ci/lowest_versions.sh
#
# A failure means a lower bound is too low: raise it in pyproject.toml and run this again.
# The result of the last run is written down in docs/INSTALL.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PY:-python3.11}
WORK=${WORK:-$(mktemp -d /tmp/snowball-lowest.XXXXXX)}
echo "lowest: working in $WORK with $($PY --version)"

# uv (from PyPI) resolves the lowest versions; pip cannot.
$PY -m venv "$WORK/tool"
"$WORK/tool/bin/python" -m pip install --quiet uv
UV="$WORK/tool/bin/uv"

# Two passes: the lowest versions as resolved (numpy 1.26), and the lowest versions that allow
# numpy 2 (a user who already has numpy 2 keeps it: every other lower bound must work with it).
check() {
    local label=$1 venv=$WORK/$1
    shift
    echo "lowest [$label]: installing"
    "$UV" venv --quiet --python "$PY" "$venv"
    local vpy=$venv/bin/python
    # A regular (not editable) install: the CLI tests run the installed `snowball`, as a user
    # would (the in-process tests import the clone's code, which is the same code).
    "$UV" pip install --quiet --python "$vpy" --resolution lowest-direct "$@" "$ROOT[sweep,fast]"
    "$UV" pip install --quiet --python "$vpy" "pytest>=8" "hypothesis>=6.100"
    "$UV" pip freeze --python "$vpy" | grep -iE \
        '^(mesa|numpy|scipy|matplotlib|pandas|pyarrow|tqdm|numba|llvmlite|dask|distributed|salib)==' \
        | tr '\n' ' '
    echo
    # The core tests, from the clone (-p no:cacheprovider: nothing written there).
    "$vpy" -m pytest -q -x -p no:cacheprovider \
        tests/test_model.py tests/test_config.py tests/test_regression.py tests/test_cli.py \
        tests/test_kernels.py  # numba's kernels (the lowest numba), against the numpy path
    # A tiny Latin-hypercube sweep (scipy.stats.qmc) and its analysis, outside the clone.
    rm -rf "$WORK/run" && mkdir -p "$WORK/run"
    cat > "$WORK/run/lhs.toml" <<'SPEC'
name = "lowest_lhs"
scenario = "default"
days = 1
seed = 7
[set]
"population.viewers" = 500
[design]
kind = "lhs"
samples = 3
[parameters]
"streams.focal.persuasion" = { low = 0.02, high = 0.09 }
"streams.focal.campaign.daily_budget" = { low = 0, high = 1000 }
SPEC
    (cd "$WORK/run" && "$venv/bin/snowball" sweep lhs.toml --jobs 1 --quiet --out sweep \
        && "$venv/bin/snowball" analyze sweep)
    test -f "$WORK/run/sweep/runs.parquet"
    # A tiny Sobol sweep on a local Dask cluster and its Sobol indices: the lowest dask,
    # distributed and SALib (N = 8 base samples x (2 + 2) = 32 runs).
    cat > "$WORK/run/sobol.toml" <<'SPEC'
name = "lowest_sobol"
scenario = "default"
days = 1
seed = 7
metrics = ["roi", "focal_gmv"]
[set]
"population.viewers" = 500
[design]
kind = "sobol"
samples = 8
second_order = false
[parameters]
"streams.focal.persuasion" = { low = 0.02, high = 0.09 }
"streams.focal.campaign.daily_budget" = { low = 100, high = 1000 }
[analysis]
metric = "focal_gmv"
resamples = 50
SPEC
    (cd "$WORK/run" && "$venv/bin/snowball" sweep sobol.toml --dask local:1 --quiet --out sobol \
        && "$venv/bin/snowball" analyze sobol)
    test -f "$WORK/run/sobol/analysis/summary.csv"
    echo "lowest [$label]: passed"
}

echo "numpy>=2" >"$WORK/numpy2.txt"
for pass in ${PASSES:-numpy1 numpy2}; do # PASSES=numpy2 runs one of them
    case $pass in
    numpy1) check numpy1 ;;
    numpy2) check numpy2 --constraint "$WORK/numpy2.txt" ;;
    *) echo "lowest: unknown pass $pass (numpy1, numpy2)" >&2 && exit 2 ;;
    esac
done
echo "lowest: all passed (venvs kept in $WORK; remove them with rm -rf $WORK)"
