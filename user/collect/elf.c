// SPDX-License-Identifier: MIT
/* Symbols and constants from ELF files, through libelf. */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "elf_syms.h"

static Elf *elf_open(int fd)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return NULL;
	return elf_begin(fd, ELF_C_READ_MMAP, NULL);
}

static void lookup_section(Elf *elf, Elf_Scn *scn, GElf_Shdr *sh, struct elf_sym_query *q,
			   size_t n)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count, i, j;
	GElf_Sym sym;
	const char *name;

	if (!data || !sh->sh_entsize)
		return;
	count = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < count; i++) {
		if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		for (j = 0; j < n; j++) {
			if (!q[j].addr && !strcmp(name, q[j].name)) {
				q[j].addr = sym.st_value;
				q[j].size = sym.st_size;
			}
		}
	}
}

int elf_lookup(int fd, struct elf_sym_query *q, size_t n)
{
	Elf *elf = elf_open(fd);
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	size_t i;

	if (!elf)
		return -ENOEXEC;
	if (elf_kind(elf) != ELF_K_ELF) {
		elf_end(elf);
		return -ENOEXEC;
	}
	for (i = 0; i < n; i++)
		q[i].addr = q[i].size = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM || sh.sh_type == SHT_SYMTAB)
			lookup_section(elf, scn, &sh, q, n);
	}
	elf_end(elf);
	return 0;
}

int elf_first_load_vaddr(int fd, uint64_t *vaddr)
{
	Elf *elf = elf_open(fd);
	size_t i, nph;
	GElf_Phdr ph;
	int err = -ENOEXEC;

	if (!elf)
		return -ENOEXEC;
	if (elf_getphdrnum(elf, &nph))
		goto out;
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		*vaddr = ph.p_vaddr - ph.p_offset;
		err = 0;
		break;
	}
out:
	elf_end(elf);
	return err;
}

int elf_read_vaddr(int fd, uint64_t addr, void *buf, size_t size)
{
	Elf *elf = elf_open(fd);
	size_t i, nph;
	GElf_Phdr ph;
	int err = -ENOENT;

	if (!elf)
		return -ENOEXEC;
	if (elf_getphdrnum(elf, &nph)) {
		err = -ENOEXEC;
		goto out;
	}
	for (i = 0; i < nph; i++) {
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (addr < ph.p_vaddr || addr + size > ph.p_vaddr + ph.p_filesz)
			continue;
		err = pread(fd, buf, size, (off_t)(ph.p_offset + addr - ph.p_vaddr)) == (ssize_t)size ?
			0 : -EIO;
		break;
	}
out:
	elf_end(elf);
	return err;
}
