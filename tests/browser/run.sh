#!/bin/sh
# SPDX-License-Identifier: MIT
# Browser test of the HTML report viewer (docs/html-report.md).
# Exits 77 (skip) without chromium or node; otherwise installs playwright-core with npm,
# generates fixtures, runs the test and prints "N passed, N failed".
# If /usr/bin/firefox-esr exists, the reports are also opened in headless Firefox.
# env: PYI_CHROMIUM (default /usr/bin/chromium), PYI_FIREFOX, PYI_FIXTURES, PYI_SHOTS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
chromium=${PYI_CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
	echo "SKIP: $chromium not found (apt-get install -y chromium); browser test not run" >&2
	exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "SKIP: node/npm not found; browser test not run" >&2
	exit 77
fi

cd "$here" || exit 1
if [ ! -d node_modules/playwright-core ]; then
	npm ci --no-audit --no-fund --loglevel=error >&2 || {
		echo "FAIL: npm ci in $here failed" >&2
		exit 1
	}
fi
export PYI_CHROMIUM="$chromium"
# a private directory per run: concurrent runs (CI jobs, several checkouts) each their own
work=$(mktemp -d "${TMPDIR:-/tmp}/pyi-browser.XXXXXX") || exit 1
export PYI_FIXTURES="${PYI_FIXTURES:-$work/fixtures}"
export PYI_SHOTS="${PYI_SHOTS:-$work/shots}"
# Firefox (optional) is driven over WebDriver BiDi, which needs WebSocket (flag on Node 20).
flags=
if ! node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null &&
	node --experimental-websocket -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null; then
	flags=--experimental-websocket
fi
node $flags --no-warnings test.mjs
rc=$?
# kept when something failed: the screenshots show what the browser drew
if [ "$rc" = 0 ]; then
	rm -rf "$work"
else
	echo "# fixtures and screenshots kept in $work" >&2
fi
exit "$rc"
