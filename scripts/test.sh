#!/usr/bin/env bash
# Install what the tests need (a virtual environment, the package with its test extras,
# a PostgreSQL server) and run the whole test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
# checkov (static analysis of generated Terraform/Bicep) pins its own HCL parser under the
# import name python-hcl2 uses, so it lives in a virtual environment of its own.
python3 -m venv .venv-checkov
.venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check 'checkov==3.3.30'
export FORGEFLOW_CHECKOV="$PWD/.venv-checkov/bin/checkov"
bash scripts/ensure-postgres.sh
# The tools the tests run (act, zizmor, check-jsonschema) come with the test extra.
export PATH="$PWD/.venv/bin:$PATH"
.venv/bin/python -m orchestration schemas --check
# The layers of README "Layout": no lower layer imports a higher one, no import cycles.
.venv/bin/lint-imports --no-cache
# Two workers (the machines have two cores); a test file stays on one worker, so its
# module-scoped fixtures (the corpus runs of the IaC loop, say) are computed once.
exec .venv/bin/python -m pytest -q -n "${FORGEFLOW_TEST_WORKERS:-2}" --dist loadfile "$@"
