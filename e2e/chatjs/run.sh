#!/usr/bin/env bash
# Runs the chatjs end-to-end suite from any working directory.
# Needs Node >= 20 and a built confab (cargo build -p confab), or CONFAB_BIN=/path/to/confab.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

# (Re)install when node_modules is missing or was installed from another package-lock.json.
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.confab-lock-sha256"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
  npm ci --no-audit --no-fund
  echo "$lock_hash" > "$stamp"
fi

exec node --test "$@"
