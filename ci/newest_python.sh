#!/usr/bin/env bash
# The project on the newest Python with the newest Mesa: where pyenv's Python 3.13 is present
# (~/.pyenv/versions/3.13.*), install the project with today's newest dependencies (no
# constraints file: Mesa 3.4+ need Python 3.12+, so this is where they are tried) into a
# separate venv, and run the core tests there. Where it is absent, say why and skip.
#
#     bash ci/newest_python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
found=(~/.pyenv/versions/3.13.*/bin/python3)
if [ ${#found[@]} -eq 0 ]; then
    echo "py3.13: skipped: no pyenv Python 3.13 (~/.pyenv/versions/3.13.*/bin/python3)"
    exit 0
fi
PY=${found[-1]}
VENV=${VENV:-.venv-py313}
echo "py3.13: $($PY --version) from $PY, venv $VENV"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade \
    -e . "pytest>=8" "hypothesis>=6.100"
"$VENV/bin/python" -m pip list --disable-pip-version-check 2>/dev/null \
    | grep -iE '^(mesa|numpy|scipy|pandas|pyarrow|matplotlib) ' | tr -s ' ' | tr '\n' ';'
echo
"$VENV/bin/python" -m pytest -q -p no:cacheprovider \
    tests/test_model.py tests/test_config.py tests/test_regression.py tests/test_cli.py
