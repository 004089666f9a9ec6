#!/usr/bin/env bash
# Set everything up and start reckit on the embedded default (SQLite in ./reckit-data).
# Arguments go to `reckit serve` (try --help).
set -euo pipefail
RECKIT_SETUP=serve  # the server's dependencies only, not the test toolchain
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
exec reckit serve "$@"
