#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configures (once) and builds pyinst-bpf in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build/build.ninja ]; then
	meson setup build --buildtype=debugoptimized >/dev/null
fi
ninja -C build >/dev/null
echo "built: $(pwd)/build/pyinst-bpf"
