/* SPDX-License-Identifier: MIT */
/* Growing arrays: the one helper the session, the loader and the renderers share. */
#ifndef PYINST_ARRAY_H
#define PYINST_ARRAY_H

#include <stddef.h>

/*
 * Makes room for need elements of elem bytes in the array at *(T **)arr, which has room for
 * *cap: the capacity doubles (from 16). 0, or -ENOMEM with the array and *cap unchanged.
 */
int array_reserve(void *arr, size_t *cap, size_t need, size_t elem);

#endif
