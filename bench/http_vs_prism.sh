#!/usr/bin/env bash
# reckit's list endpoint against a Stoplight Prism mock of the same endpoint, under wrk.
# Installs what it needs (wrk from Debian's packages, Prism from npm into bench/prism), seeds a
# 1,000,000-recording store once (kept in bench/.data), and prints a table.
# Settings: RECORDINGS (1000000), DURATION (10s), RUNS (3, the median is shown).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)"
    apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }
fi
(cd bench/prism && npm ci --no-audit --no-fund --loglevel=error)
exec python bench/http_vs_prism.py "$@"
