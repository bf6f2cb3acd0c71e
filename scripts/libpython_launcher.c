// SPDX-License-Identifier: MIT
/*
 * An interpreter linked to libpython3.X.so, as embedding programs and distributions that build
 * --enable-shared run CPython: the interpreter's code and _PyRuntime live in the library, not
 * in the executable. Debian ships no such python3.X binary; scripts/unstable-root.sh builds this
 * one against each version's -dev headers so the integration tests cover the shared layout.
 */
#include <Python.h>

int main(int argc, char **argv)
{
	return Py_BytesMain(argc, argv);
}
