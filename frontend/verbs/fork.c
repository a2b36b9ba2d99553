/* SPDX-License-Identifier: MIT */
/*
 * fork() support. rdma-core needs ibv_fork_init so that copy-on-write does
 * not move registered pages away from the NIC. Registered memory here is a
 * MAP_SHARED memfd, which fork() never copies on write: nothing to set up.
 * The range calls keep their meaning (MADV_DONTFORK / MADV_DOFORK).
 */
#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

APIR_EXPORT int ibv_fork_init(void)
{
	return 0;
}

APIR_EXPORT enum ibv_fork_status ibv_is_fork_initialized(void)
{
	return IBV_FORK_UNNEEDED;
}

static int madvise_pages(void *base, size_t size, int advice)
{
	uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)base & ~(pg - 1);
	uintptr_t end = ((uintptr_t)base + size + pg - 1) & ~(pg - 1);

	if (size == 0)
		return 0;
	return madvise((void *)start, end - start, advice) ? errno : 0;
}

APIR_EXPORT int ibv_dontfork_range(void *base, size_t size)
{
	return madvise_pages(base, size, MADV_DONTFORK);
}

APIR_EXPORT int ibv_dofork_range(void *base, size_t size)
{
	return madvise_pages(base, size, MADV_DOFORK);
}
