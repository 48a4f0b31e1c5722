#!/usr/bin/env bash
# Install with the test tools, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# The browser tests drive Debian's chromium (Playwright's own browser download is not used); the
# manual tests read Debian's PostgreSQL 15 documentation. Tests that need either skip, saying why,
# where they cannot be installed.
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -d /usr/share/doc/postgresql-doc-15/html ] || missing="$missing postgresql-doc-15"
if [ -n "$missing" ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -q $missing >/dev/null 2>&1 || {
        $sudo_cmd apt-get update -q >/dev/null 2>&1 && $sudo_cmd apt-get install -y -q $missing >/dev/null 2>&1; } \
        || echo "could not install$missing: the tests that need it will skip"
fi
.venv/bin/python -m pytest "$@"
