// SPDX-License-Identifier: MIT
/* Growing arrays (array.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "array.h"

#define FIRST_CAP 16

int array_grow(void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : FIRST_CAP;
	void *p;

	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			return -ENOMEM;
		ncap *= 2;
	}
	if (elem && ncap > SIZE_MAX / elem)
		return -ENOMEM;
	p = realloc(*(void **)arr, ncap * elem);
	if (!p)
		return -ENOMEM;
	*(void **)arr = p;
	*cap = ncap;
	return 0;
}
