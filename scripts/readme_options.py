#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The README's options tables are generated: each block between

    <!-- options: ARGS -->
    <!-- end options -->

is what `pyinst-bpf ARGS` prints (ARGS: --help-markdown, dump --help-markdown, ...), made from
the same table as the getopt options and --help (user/options.h). Checks that they agree
(exit 1 and a diff when not), or with --update rewrites the blocks.

usage: readme_options.py [--update] PYINST_BPF README.md
"""
import difflib
import re
import subprocess
import sys

BLOCK = re.compile(r"(<!-- options: (.*?) -->\n)(.*?)(<!-- end options -->)", re.S)


def main(argv):
    update = "--update" in argv
    args = [a for a in argv if a != "--update"]
    if len(args) != 2:
        sys.exit(__doc__)
    binary, readme = args
    with open(readme, encoding="utf-8") as f:
        text = f.read()
    blocks, failed = 0, False

    def regenerate(m):
        nonlocal blocks, failed
        blocks += 1
        want = subprocess.run([binary] + m.group(2).split(), check=True, stdout=subprocess.PIPE,
                              encoding="utf-8").stdout
        if m.group(3) != want and not update:
            failed = True
            sys.stdout.writelines(difflib.unified_diff(
                m.group(3).splitlines(True), want.splitlines(True),
                "%s (options: %s)" % (readme, m.group(2)), "pyinst-bpf " + m.group(2)))
        return m.group(1) + want + m.group(4)

    new = BLOCK.sub(regenerate, text)
    if not blocks:
        sys.exit("%s: no <!-- options: ... --> block" % readme)
    if update:
        if new != text:
            with open(readme, "w", encoding="utf-8") as f:
                f.write(new)
        return 0
    if failed:
        print("README options out of date: run scripts/readme_options.py --update %s %s"
              % (binary, readme))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
