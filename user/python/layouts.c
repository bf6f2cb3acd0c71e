// SPDX-License-Identifier: MIT
/* Lookups over the generated table in python_layouts.c. */
#include <errno.h>

#include "python_layouts.h"

/* Layouts differ between minor versions only: compare PY_VERSION_HEX's top two bytes. */
#define PYI_MAJOR_MINOR(v) ((v) & 0xffff0000u)

const struct pyi_layout *layouts_find(uint32_t version_hex)
{
	for (size_t i = 0; i < pyi_layouts_count; i++)
		if (PYI_MAJOR_MINOR(pyi_layouts[i].off.version_hex) == PYI_MAJOR_MINOR(version_hex))
			return &pyi_layouts[i];
	errno = ENOENT;
	return NULL;
}

void layouts_print_versions(FILE *f)
{
	for (size_t i = 0; i < pyi_layouts_count; i++) {
		uint32_t v = pyi_layouts[i].off.version_hex;

		fprintf(f, "%s%u.%u%s", i ? " " : "", v >> 24, (v >> 16) & 0xff,
			pyi_layouts[i].derived ? "*" : "");
	}
	fputc('\n', f);
}
