#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Writes user/python/python_layouts.c: one struct pyi_layout per CPython minor version, every offset
# computed by a C compiler from that version's own headers (scripts/layout_probe.c).
#
#   scripts/gen_layouts.sh [OUT]      (default OUT: user/python/python_layouts.c)
#
# Interpreters: $(pyenv root)/versions/3.{6..13}.* (the newest patch release of each minor) and
# Debian's /usr/include/python3.11 when present; when two installs give one minor version, the
# second is compiled too and must agree, or the generator stops.
#
# 3.14 and 3.15: Debian unstable's python3.X-dev headers, in the root scripts/unstable-root.sh
# makes (and caches). Without that root 3.15 is left out and 3.14's entry is 3.13's compiled
# layout plus the deltas listed in derive_314 below, flagged .derived so user space must overlay
# the target's own _Py_DebugOffsets (user/python/debug_offsets.c) before using it.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${1:-$root/user/python/python_layouts.c}
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Keys of struct pyi_offsets, in declaration order (include/pyinst_abi.h).
off_keys=(interp_next interp_tstate_head tstate_next tstate_interp tstate_frame
	cframe_current_frame tstate_thread_id tstate_native_thread_id frame_code frame_previous
	frame_instr frame_owner frame_localsplus code_argcount code_flags code_firstlineno code_name
	code_qualname code_filename code_varnames code_linetable code_firsttraceable code_adaptive
	object_type type_name tuple_item bytes_size bytes_data unicode_length unicode_state
	unicode_ascii_size unicode_compact_size frame_owner_cstack)
# Keys of struct pyi_layout outside pyi_offsets (user/python/python_layouts.h).
extra_keys=(tstate_prev frame_is_entry frame_code_tag_mask code_code code_size
	unicode_kind_shift unicode_compact_bit unicode_ascii_bit runtime_debug_offsets
	runtime_interpreters_head runtime_tstate_current runtime_gil_locked runtime_gil_last_holder
	interp_ceval_gil gil_locked gil_last_holder runtime_autotsskey tss_key)

# probe INCLUDE_DIR OUTFILE [SYSROOT]: compile layout_probe.c against one install's headers and
# run it. SYSROOT's /usr/include comes after ours: Debian's multiarch pyconfig.h lives there.
probe() {
	local inc=$1 dst=$2 extra=()
	[ -n "${3:-}" ] && extra=(-idirafter "$3/usr/include")
	"$cc" -O0 -w -DPy_BUILD_CORE -DPy_BUILD_CORE_MODULE -I"$inc" -I"$inc/internal" \
		"${extra[@]}" -o "$work/probe" "$here/layout_probe.c"
	"$work/probe" > "$dst"
}

# val FILE KEY
val() {
	awk -v k="$2" '$1 == k { print $2; found = 1 } END { if (!found) exit 1 }' "$1"
}

# 3.14 from 3.13 (x86-64, default GIL build). Facts from the v3.14.0 headers:
#  - pycore_interpframe_structs.h: _PyInterpreterFrame.stackpointer (a pointer) replaced 3.13's
#    int stacktop, so return_offset/owner move to 72/74 and localsplus to 80; f_executable is a
#    _PyStackRef whose bit 0 is Py_TAG_REFCNT (pycore_stackref.h: PyStackRef_AsPyObjectBorrow
#    clears only that bit; 3 would also eat Py_INT_TAG, which never tags a code object).
#  - enum _frameowner gained FRAME_OWNED_BY_INTERPRETER = 3; FRAME_OWNED_BY_CSTACK became 4.
#  - cpython/code.h: Py_ssize_t _co_unique_id precedes _co_firsttraceable (+8 for it and
#    co_code_adaptive).
#  - gh-131185 / PR #132510: _PyRuntime.autoTSSkey is gone (a C thread-local replaced it).
#  - cpython/pystate.h: holds_gil replaced c_recursion_remaining: current_frame, thread_id,
#    native_thread_id keep 3.13's offsets.
#  - PyInterpreterState and _PyRuntimeState grew: their offsets are not derivable here and stay
#    -1 until _Py_DebugOffsets fills them (interp_next, interp_tstate_head, interpreters.head,
#    ceval.gil).
derive_314() {
	local src=$1 dst=$2
	awk '
	BEGIN {
		set["version_hex"] = 51249152		# 0x030E0000
		set["frame_owner"] = 74
		set["frame_localsplus"] = 80
		set["frame_owner_cstack"] = 4
		set["frame_code_tag_mask"] = 1
		set["code_firsttraceable"] = "+8"
		set["code_adaptive"] = "+8"
		set["code_size"] = "+8"
		set["runtime_autotsskey"] = -1
		set["interp_next"] = -1
		set["interp_tstate_head"] = -1
		set["runtime_interpreters_head"] = -1
		set["interp_ceval_gil"] = -1
	}
	$1 == "version_str" { print "version_str 3.14.0"; next }
	$1 in set {
		v = set[$1]
		if (v ~ /^\+/)
			v = $2 + substr(v, 2)
		print $1, v
		next
	}
	{ print }' "$src" > "$dst"
}

# emit FILE PROVENANCE DERIVED: one initializer.
emit() {
	local f=$1 prov=$2 derived=$3 k
	printf '\t{\n'
	# one string per "; "-separated part keeps lines under 100 columns
	printf '\t\t.provenance =\n'
	printf '%s\n' "$prov" |
		sed 's/; /;\n /g; s/ compiled against /\n&/; s/ on \([0-9-]*\)/\n on \1/' |
		sed 's/^/\t\t\t"/; s/$/"/; $ s/$/,/'
	printf '\t\t.derived = %s,\n' "$derived"
	printf '\t\t.off = {\n'
	printf '\t\t\t.version_hex = 0x%08x,\n' "$(val "$f" version_hex)"
	for k in "${off_keys[@]}"; do
		printf '\t\t\t.%s = %s,\n' "$k" "$(val "$f" "$k")"
	done
	printf '\t\t\t.pad = 0,\n\t\t},\n'
	for k in "${extra_keys[@]}"; do
		printf '\t\t.%s = %s,\n' "$k" "$(val "$f" "$k")"
	done
	printf '\t},\n'
}

# Newest patch release of each minor in pyenv, then Debian's.
declare -A inc_of ver_of
pyenv_root=$( (command -v pyenv >/dev/null && pyenv root) || echo "$HOME/.pyenv")
for minor in 6 7 8 9 10 11 12 13; do
	d=$(ls -d "$pyenv_root"/versions/3."$minor".* 2>/dev/null | sort -V | tail -n 1 || true)
	[ -n "$d" ] || continue
	inc=$(ls -d "$d"/include/python3."$minor"* | head -n 1)
	inc_of[$minor]=$inc
done
declare -A cross
if [ -f /usr/include/python3.11/Python.h ]; then
	if [ -n "${inc_of[11]:-}" ]; then
		cross[11]=/usr/include/python3.11
	else
		inc_of[11]=/usr/include/python3.11
	fi
fi

sid=""
if sid=$("$here/unstable-root.sh"); then
	:
else
	echo "gen_layouts: no Debian unstable root: 3.14 derived from 3.13, 3.15 left out" >&2
	sid=""
fi

today=$(date -u +%Y-%m-%d)
{
	echo "/* GENERATED by 'scripts/gen_layouts.sh user/python/python_layouts.c' $today: do not edit */"
	echo "// SPDX-License-Identifier: MIT"
	echo '#include "python_layouts.h"'
	echo
	echo "const struct pyi_layout pyi_layouts[] = {"
	for minor in 6 7 8 9 10 11 12 13; do
		[ -n "${inc_of[$minor]:-}" ] || continue
		f=$work/3.$minor
		probe "${inc_of[$minor]}" "$f"
		prov="CPython $(val "$f" version_str): compiled against ${inc_of[$minor]} on $today"
		if [ -n "${cross[$minor]:-}" ]; then
			probe "${cross[$minor]}" "$f.x"
			if ! diff <(grep -v '^version' "$f") <(grep -v '^version' "$f.x") >&2; then
				echo "gen_layouts: ${cross[$minor]} disagrees with" \
					"${inc_of[$minor]}" >&2
				exit 1
			fi
			prov="$prov; agrees with $(val "$f.x" version_str) from ${cross[$minor]}"
		fi
		emit "$f" "$prov" false
	done
	for minor in 14 15; do
		inc=$sid/usr/include/python3.$minor
		[ -n "$sid" ] && [ -f "$inc/Python.h" ] || continue
		f=$work/3.$minor
		probe "$inc" "$f" "$sid"
		prov="CPython $(val "$f" version_str): compiled against Debian unstable's"
		prov="$prov /usr/include/python3.$minor on $today"
		emit "$f" "$prov" false
	done
	if [ ! -f "$work/3.14" ] && [ -f "$work/3.13" ]; then
		derive_314 "$work/3.13" "$work/3.14"
		prov="CPython 3.14.0: DERIVED, not compiled; 3.13 layout + v3.14.0 header deltas"
		prov="$prov (derive_314); overlay _Py_DebugOffsets before use; $today"
		emit "$work/3.14" "$prov" true
	fi
	echo "};"
	echo
	echo "const size_t pyi_layouts_count = sizeof(pyi_layouts) / sizeof(pyi_layouts[0]);"
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "gen_layouts: wrote $out" >&2
