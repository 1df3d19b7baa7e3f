#!/usr/bin/env bash
# The project on the newest Python with the newest Mesa: where pyenv's Python 3.13 is present
# (~/.pyenv/versions/3.13.*), install the project with today's newest dependencies (no
# constraints file: Mesa 3.4+ need Python 3.12+, so this is where they are tried) into a
# fresh venv under /tmp (removed at exit; VENV=DIR keeps one to reuse), and run the core tests
# there: the model, the configuration, the regression digests, the command line, the Mesa
# conventions and the metrics API. Where it is absent, say why and skip.
#
#     bash ci/newest_python.sh
#
# Uses pip's cache (~/.cache/pip). Measured on 2 loaded cores: about 1.5 min to install and
# 6-7 min of tests.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
found=(~/.pyenv/versions/3.13.*/bin/python3)
if [ ${#found[@]} -eq 0 ]; then
    echo "py3.13: skipped: no pyenv Python 3.13 (~/.pyenv/versions/3.13.*/bin/python3)"
    exit 0
fi
PY=${found[-1]}
if [ -z "${VENV:-}" ]; then
    VENV=$(mktemp -d /tmp/snowball-py313.XXXXXX)
    trap 'rm -rf "$VENV"' EXIT
fi
start=$SECONDS
echo "py3.13: $($PY --version) from $PY, venv $VENV"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
    -e . "pytest>=8" "hypothesis>=6.100"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(mesa|numpy|scipy|pandas|pyarrow|matplotlib) ' | tr -s ' ' | tr '\n' ';'
echo
echo "py3.13: installed in $((SECONDS - start)) s"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_model.py tests/test_config.py tests/test_regression.py tests/test_cli.py \
    tests/test_mesa_conventions.py tests/test_metrics_api.py
echo "py3.13: passed ($((SECONDS - start)) s in all)"
