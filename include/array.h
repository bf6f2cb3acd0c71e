/* SPDX-License-Identifier: MIT */
/* Growing arrays: the one helper the session, the loader and the renderers share. */
#ifndef PYINST_ARRAY_H
#define PYINST_ARRAY_H

#include <stddef.h>

/* Grows the array at *(T **)arr to room for at least need elements: see array_reserve. */
int array_grow(void *arr, size_t *cap, size_t need, size_t elem);

/*
 * Makes room for need elements of elem bytes in the array at *(T **)arr, which has room for
 * *cap: the capacity doubles (from 16). 0, or -ENOMEM with the array and *cap unchanged.
 * Inline: callers ask on every append.
 */
static inline int array_reserve(void *arr, size_t *cap, size_t need, size_t elem)
{
	return need <= *cap ? 0 : array_grow(arr, cap, need, elem);
}

#endif
