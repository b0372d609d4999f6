#!/usr/bin/env bash
# Runs the boto3 + AWS CLI v1 end-to-end suite from any working directory.
# Uses the boto3 and `aws` already installed when both are there; otherwise (or with
# CONFAB_E2E_VENV=1) installs pinned versions into e2e/python/.venv with pip.
# Needs a built confab (cargo build -p confab), or CONFAB_BIN=/path/to/confab.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

BOTO3_VERSION=1.43.11
AWSCLI_VERSION=1.45.11
PY="${PYTHON:-python3}"

if [[ "${CONFAB_E2E_VENV:-0}" != 1 ]] && "$PY" -c "import boto3" 2>/dev/null && aws --version >/dev/null 2>&1; then
  :
else
  venv=.venv
  want="boto3==$BOTO3_VERSION awscli==$AWSCLI_VERSION"
  if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.confab-pins" 2>/dev/null)" != "$want" ]]; then
    rm -rf "$venv"
    "$PY" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "boto3==$BOTO3_VERSION" "awscli==$AWSCLI_VERSION"
    echo "$want" > "$venv/.confab-pins"
  fi
  PY="$venv/bin/python"
  export PATH="$PWD/$venv/bin:$PATH"
fi

exec "$PY" test_boto3_cli.py "$@"
