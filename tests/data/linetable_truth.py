# SPDX-License-Identifier: MIT
"""Ground truth for tests/unit/test_linetable.c, printed by the interpreter under test.

For every code object compiled from the samples below, prints
    C <firstlineno> <line table as hex> <name>
    L <line at byte offset 0> <line at 2> ... (one per code unit; -1 = None)
The line is what the interpreter's own PyCode_Addr2Line returns, called through ctypes: it is the
function behind frame.f_lineno in every version (3.6-3.9 with f_lasti, 3.10 with f_lasti * 2,
3.11+ with the frame's instruction offset). For 3.10+ it is also checked against co_lines().
"""
import ctypes
import sys

addr2line = ctypes.pythonapi.PyCode_Addr2Line
addr2line.argtypes = [ctypes.py_object, ctypes.c_int]
addr2line.restype = ctypes.c_int

SAMPLES = '''
import functools

def simple(a, b):
    c = a + b
    return c

def multiline(a,
              b):
    x = (a +
         b *
         a)
    y = [
        a,
        b,
    ]
    return foo(x,
               y,
               bar(
                   a))

def loops(n):
    total = 0
    for i in range(n):
        if i % 2:
            continue
        while total < i:
            total += 1
    else:
        total -= 1
    return total

def handlers(x):
    try:
        y = 1 / x
    except ZeroDivisionError as e:
        y = 0
    except (TypeError, ValueError):
        raise
    else:
        y += 1
    finally:
        x = None
    with open(x) as f, open(y) as g:
        pass
    return y

square = lambda v: (v *
                    v)

def comprehensions(xs):
    a = [x * 2 for x in xs if x]
    b = {x: y for x, y in zip(xs,
                              xs)}
    c = {x for x in xs}
    d = (x for x in xs)
    return a, b, c, d

def deco(f):
    return f

@deco
@functools.lru_cache(
    maxsize=3)
def decorated(
        a,
        b=2,
        *args,
        **kw):
    return a

class K:
    attr = 1

    @property
    def p(self):
        return self.attr

async def coro(x):
    await x
    async for y in x:
        yield y
'''


def long_function():
    """A function whose lines jump by more than 255 and whose bytecode on one line exceeds 255
    bytes; an expression spanning lines backwards gives negative line deltas (3.8+)."""
    lines = ['def long_function(a):', '    x = 1']
    lines += [''] * 300
    lines.append('    y = [' + ', '.join('a%d' % i for i in range(200)) + ']')
    lines += ['    #'] * 1000
    lines.append('    z = call(')
    lines += ['        a,'] * 3
    lines.append('        other(a)')
    lines.append('    )')
    lines.append('    return (x if')
    lines.append('            y')
    lines.append('            else z)')
    # big code jump with no line change: 300 statements on one line
    lines.append('    ' + '; '.join('q%d = a' % i for i in range(300)))
    return '\n'.join(lines) + '\n'


def walk(co):
    yield co
    for c in co.co_consts:
        if hasattr(c, 'co_code'):
            for sub in walk(c):
                yield sub


def table(co):
    if sys.version_info >= (3, 10):
        return co.co_linetable
    return co.co_lnotab


def check_co_lines(co, lines):
    if sys.version_info < (3, 10):
        return
    for start, end, line in co.co_lines():
        for off in range(start, end, 2):
            want = -1 if line is None else line
            if lines[off // 2] != want:
                raise SystemExit('co_lines disagrees at %s+%d' % (co.co_name, off))


def dump(src, firstline_pad):
    code = compile('\n' * firstline_pad + src, '<sample>', 'exec')
    for co in walk(code):
        lines = [addr2line(co, off) for off in range(0, len(co.co_code), 2)]
        check_co_lines(co, lines)
        print('C %d %s %s' % (co.co_firstlineno, table(co).hex() or '-', co.co_name))
        print('L ' + ' '.join(str(v) for v in lines))


def main():
    print('V %d %s' % (sys.hexversion, sys.version.split()[0]))
    dump(SAMPLES, 0)
    dump(SAMPLES, 70000)
    dump(long_function(), 0)


main()
