/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Small helpers shared by the sampler's programs. */
#ifndef PYINST_SAMPLER_BPF_H
#define PYINST_SAMPLER_BPF_H

/*
 * Loads from a block read in one probe, at an offset that user space chose (CPython layout
 * tables). The bound is the block's constant size so the verifier can check it; user space
 * makes the read length cover every offset it uses.
 */
#define DEFINE_LOAD(type, name, block_size)						\
static __always_inline type name(const __u8 *block, __s32 off)				\
{											\
	if (off < 0 || off > (__s32)(block_size - sizeof(type)))			\
		return 0;								\
	return *(const type *)(block + off);						\
}

#endif
