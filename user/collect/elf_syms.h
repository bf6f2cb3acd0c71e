/* SPDX-License-Identifier: MIT */
/* ELF facts user space needs about an interpreter binary or libpython (libelf). */
#ifndef PYINST_ELF_SYMS_H
#define PYINST_ELF_SYMS_H

#include <stddef.h>
#include <stdint.h>

struct elf_sym_query {
	const char *name;
	uint64_t addr;		/* st_value (link-time virtual address), 0 if absent */
	uint64_t size;
};

/*
 * Looks every query up in .dynsym and .symtab of the ELF file open at fd (not closed).
 * Returns 0, or -errno if the file is not a readable ELF.
 */
int elf_lookup(int fd, struct elf_sym_query *q, size_t n);

/* Link-time address of the first loadable segment (p_vaddr of the PT_LOAD at offset 0). */
int elf_first_load_vaddr(int fd, uint64_t *vaddr);

/* Reads size bytes at link-time address addr from the file (for .rodata constants). */
int elf_read_vaddr(int fd, uint64_t addr, void *buf, size_t size);

#endif
