#!/usr/bin/env bash
# Set up what reckit needs, idempotently: uv (in .tools/), then the locked environment (.venv/).
# Sourced by serve.sh and test.sh. Needs Python >= 3.11 as python3.
# RECKIT_SETUP=serve (serve.sh) installs only what serving needs, leaving anything else already
# in .venv/ (the test tools test.sh installed); otherwise everything, the test tools too. Both
# install every storage SDK (the extras s3, azure, gcs, sftp), so the server can deliver
# anywhere and the tests reach every backend.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

UV_VERSION=0.13.9
if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "reckit needs Python 3.11 or newer as python3 (found $(python3 --version 2>&1))" >&2
    exit 1
fi
if [ ! -x .tools/bin/uv ] || [ "$(.tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
    python3 -m venv .tools
    .tools/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
export UV_PYTHON=python3
if [ "${RECKIT_SETUP:-}" = serve ]; then
    .tools/bin/uv sync --frozen --quiet --all-extras --no-dev --inexact
else
    .tools/bin/uv sync --frozen --quiet --all-extras
fi
export PATH="$PWD/.venv/bin:$PATH"
