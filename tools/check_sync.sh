#!/usr/bin/env bash
# Fails when nbdev-export or nbdev-clean would change files: the package must be the export of the notebooks,
# and notebooks must be stored clean. Usage: tools/check_sync.sh VENV_BIN
set -euo pipefail
bin=${1:-.venv/bin}
if ! git rev-parse --git-dir >/dev/null 2>&1; then
  echo "check_sync: not a git checkout, skipping the export/clean check"; exit 0
fi
state() { git status --porcelain -- nbs r1_budget; git diff -- nbs r1_budget | sha1sum; }
before=$(state)
"$bin/nbdev-export"
"$bin/nbdev-clean"
after=$(state)
if [ "$before" != "$after" ]; then
  echo "nbdev-export / nbdev-clean changed files (git status now):" >&2
  git status --porcelain -- nbs r1_budget | sed 's/^/  /' >&2
  echo "The exported package must match the notebooks and notebooks must be clean: review and commit the changes." >&2
  exit 1
fi
echo "check_sync: exported modules and notebooks are in sync"
