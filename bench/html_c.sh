#!/bin/sh
# SPDX-License-Identifier: MIT
# The C HTML renderer at 10k / 1M / 10M samples (8 threads): file size, render time, peak RSS,
# then time to first draw in headless chromium (bench/html_report.mjs on the same files).
# The sessions come from bench/html_gen.c (built here against BUILD's libraries); the 10k one
# also goes through `pyinst-bpf --load X.pyisession -o X.html` (a 1M .pyisession is 1.4 GB).
# usage: bench/html_c.sh [BUILD_DIR] [samples...]    env: PYI_BENCH_DIR (default /tmp/pyi-html-c)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
counts=${*:-10000 1000000 10000000}
dir=${PYI_BENCH_DIR:-${TMPDIR:-/tmp}/pyi-html-c}
mkdir -p "$dir"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$root/include" "$root/bench/html_gen.c" \
	"$build/render/libpyi_render.a" "$build/user/session/libpyi_session.a" \
	"$build/user/util/libpyi_util.a" -lcjson -lz -lm -o "$dir/html_gen"

echo "samples	threads	build_ms	render_ms	MB	peak_rss_MB"
files=
for n in $counts; do
	line=$(/usr/bin/time -f '%M' -o "$dir/rss" "$dir/html_gen" "$n" 8 "$dir/c-$n.html" \
		$([ "$n" -le 100000 ] && echo "$dir/c-$n.pyisession"))
	size=$(stat -c %s "$dir/c-$n.html")
	echo "$line	$(echo "$size" | awk '{printf "%.2f", $1 / 1e6}')	$(awk '{printf "%.0f", $1 / 1024}' "$dir/rss")"
	files="$files $dir/c-$n.html"
	if [ -f "$dir/c-$n.pyisession" ]; then
		t0=$(date +%s%N)
		"$build/pyinst-bpf" --load "$dir/c-$n.pyisession" -o "$dir/c-$n-load.html"
		t1=$(date +%s%N)
		echo "# pyinst-bpf --load c-$n.pyisession -o c-$n-load.html: $(( (t1 - t0) / 1000000 )) ms," \
			"$(stat -c %s "$dir/c-$n-load.html") bytes"
	fi
done
if [ -x /usr/bin/chromium ] && [ -d "$root/tests/browser/node_modules/playwright-core" ]; then
	node --max-old-space-size=8192 "$root/bench/html_report.mjs" $files
else
	echo "# first draw: skipped (needs /usr/bin/chromium and (cd tests/browser && npm ci))"
fi
