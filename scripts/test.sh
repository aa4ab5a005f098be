#!/usr/bin/env bash
# Install what the tests need (a virtual environment, the package with its test extras,
# a PostgreSQL server) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
bash scripts/ensure-postgres.sh
.venv/bin/python -m orchestration schemas --check
exec .venv/bin/python -m pytest -q "$@"
