# SPDX-License-Identifier: MIT
"""Ground truth for tests/unit/test_pystr.c: raw str objects as they sit in this interpreter's
memory, and the UTF-8 pystr_from_object must make of them.
    V <sys.hexversion>
    S <object bytes as hex> <expected UTF-8 as hex>
"""
import ctypes
import sys

SAMPLES = ['module_name', 'caf\xe9', '\u03a9\u03bc\u03ad\u03b3\u03b1', '\U0001f600x',
           'a\x00b', 'lone\ud800', '\udfff\U0010ffff', '', 'x' * 300]


def expected(s):
    out = []
    for ch in s:
        if ch == '\x00' or 0xD800 <= ord(ch) <= 0xDFFF:
            ch = '\ufffd'
        out.append(ch)
    return ''.join(out).encode('utf-8')


print('V %d' % sys.hexversion)
for s in SAMPLES:
    s = ''.join(list(s))  # a fresh, compact object
    raw = ctypes.string_at(id(s), sys.getsizeof(s))
    print('S %s %s' % (raw.hex(), expected(s).hex() or '-'))
