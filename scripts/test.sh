#!/usr/bin/env bash
# Set everything up and run every check: lint, types, and the tests on SQLite and PostgreSQL.
# --fast: lint, types, and only the quick tests, on SQLite (what it leaves out is printed at the
# end; the markers are in pyproject.toml). Other arguments go to pytest (e.g. -k list, -x).
set -euo pipefail
fast=""
args=()
for arg in "$@"; do
    if [ "$arg" = "--fast" ]; then fast=1; else args+=("$arg"); fi
done
set -- ${args[@]+"${args[@]}"}
RECKIT_SETUP=test  # everything, the test toolchain too
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

echo "== ruff"
ruff check src tests bench
ruff format --check src tests bench
echo "== mypy (strict)"
mypy
if [ -n "$fast" ]; then
    # Neither PostgreSQL nor the storage servers (Azurite, sshd) are needed for these.
    echo "== pytest --fast"
    status=0
    pytest -n "${RECKIT_TEST_WORKERS:-2}" -m "not slow and not postgres and not emulator" "$@" \
        || status=$?
    echo "NOTE: --fast left out the tests marked slow (real FFmpeg, reckit serve processes, the"
    echo "      fuzzing, real timeouts: 2 s or more each), postgres (the PostgreSQL half) and"
    echo "      emulator (moto, the GCS emulator, Azurite, sshd): pytest's 'deselected' above."
    echo "      ./scripts/test.sh without --fast runs every test on both engines."
    exit "$status"
fi
# Microsoft's Azurite (npm), for the Azure delivery tests; pinned by tests/emulators.
if command -v npm >/dev/null; then
    if [ ! -x tests/emulators/node_modules/.bin/azurite-blob ]; then
        (cd tests/emulators && npm ci --no-audit --no-fund --silent)
    fi
elif [ "${CI:-}" = "true" ]; then
    echo "CI needs npm (for Azurite)" >&2
    exit 1
else
    echo "NOTE: npm is not installed: the Azure storage tests will be SKIPPED."
fi
if ! [ -x /usr/sbin/sshd ] && [ "${CI:-}" != "true" ]; then
    echo "NOTE: OpenSSH's sshd is not installed (apt install openssh-server): the SFTP tests"
    echo "      will be SKIPPED."
fi
missing_page=""
for program in chromium Xvfb pulseaudio; do
    command -v "$program" >/dev/null || missing_page="$missing_page $program"
done
if [ -n "$missing_page" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "CI needs$missing_page for the page-recording tests (apt-get install chromium xvfb" >&2
        echo "pulseaudio)" >&2
        exit 1
    fi
    echo "NOTE:$missing_page not installed: the page-recording tests (tests/recorder/test_page_*)"
    echo "      will be SKIPPED. apt-get install chromium xvfb pulseaudio runs them."
fi
missing_browser=""
for program in chromium chromedriver; do
    command -v "$program" >/dev/null || missing_browser="$missing_browser $program"
done
if [ -n "$missing_browser" ]; then
    if [ "${CI:-}" = "true" ]; then
        echo "CI needs$missing_browser for the dashboard's browser tests (apt-get install" >&2
        echo "chromium chromium-driver)" >&2
        exit 1
    fi
    echo "NOTE:$missing_browser not installed: the dashboard's browser tests"
    echo "      (tests/http/test_dashboard_browser*) will be SKIPPED. apt-get install chromium"
    echo "      chromium-driver runs them."
fi
pg_url="${RECKIT_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
if ! python -c "import psycopg, sys; psycopg.connect(sys.argv[1], connect_timeout=3).close()" "$pg_url" 2>/dev/null; then
    if [ "${CI:-}" = "true" ]; then
        echo "CI needs PostgreSQL at $pg_url and it is not reachable" >&2
        exit 1
    fi
    echo "NOTE: PostgreSQL is not reachable at $pg_url: its tests will be SKIPPED."
    echo "      Start a server there (or set RECKIT_TEST_POSTGRES_URL) to run them."
fi
# Three phases (the markers are set in tests/conftest.py): everything but the tests marked
# realtime or exclusive on RECKIT_TEST_WORKERS processes (pytest-xdist; an idle one takes tests
# queued for another); then the realtime ones (small FFmpeg captures, timeouts and leases run out
# on purpose: mostly waiting) two at a time, apart from the rest; then the exclusive ones
# (Chromium, fifty FFmpeg encoders) alone, so that no other test takes their CPU. Exit code 5 is
# "no test selected": fine for a phase, not for all three; any other failure fails the run.
workers="${RECKIT_TEST_WORKERS:-2}"
statuses=()
echo "== pytest ($workers processes)"
status=0
pytest -n "$workers" --dist worksteal -m "not exclusive and not realtime" --durations=15 "$@" \
    || status=$?
statuses+=("$status")
echo "== pytest (realtime: two at a time)"
status=0
pytest -n 2 --dist worksteal -m realtime --durations=10 "$@" || status=$?
statuses+=("$status")
echo "== pytest (exclusive: alone)"
status=0
pytest -m exclusive --durations=10 "$@" || status=$?
statuses+=("$status")
result=5
for status in "${statuses[@]}"; do
    if [ "$status" != 0 ] && [ "$status" != 5 ]; then
        exit "$status"
    fi
    if [ "$status" = 0 ]; then result=0; fi
done
exit "$result"
