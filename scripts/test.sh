#!/usr/bin/env bash
# Install with the test tools, then run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
# The browser tests drive Debian's chromium (Playwright's own browser download is not used).
if [ ! -x /usr/bin/chromium ]; then
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -q chromium >/dev/null || {
        $sudo_cmd apt-get update -q >/dev/null && $sudo_cmd apt-get install -y -q chromium >/dev/null; }
fi
.venv/bin/python -m pytest "$@"
