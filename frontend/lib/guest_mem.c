/* SPDX-License-Identifier: MIT */
/*
 * mlock + /proc/self/pagemap. mlock makes the pages resident and keeps them
 * out of swap; a guest must also keep the kernel from migrating locked pages
 * (vm.compact_unevictable_allowed=0), which is the guest image's job.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "apir/ring.h"
#include "guest_mem.h"

int apir_lock_pages(void *addr, size_t len)
{
	return (int)syscall(SYS_mlock, addr, len);
}

#define PAGEMAP_PRESENT (1ull << 63)
#define PAGEMAP_PFN_MASK ((1ull << 55) - 1)

static int read_pagemap(uintptr_t first_page, size_t npages, uint64_t *ent)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	size_t want = npages * sizeof(*ent);
	ssize_t n;
	int err;

	if (fd < 0)
		return errno;
	n = pread(fd, ent, want, (off_t)(first_page / APIR_PAGE_SIZE * sizeof(*ent)));
	err = errno;
	close(fd);
	if (n < 0)
		return err;
	return (size_t)n == want ? 0 : EFAULT;
}

/* Number of runs of physically contiguous pages in ent (all present). */
static int count_runs(const uint64_t *ent, size_t npages, size_t *runs)
{
	*runs = 0;
	for (size_t i = 0; i < npages; i++) {
		uint64_t pfn = ent[i] & PAGEMAP_PFN_MASK;

		if (!(ent[i] & PAGEMAP_PRESENT))
			return EFAULT;
		if (pfn == 0)
			return EPERM;   /* unprivileged readers see PFN 0 */
		if (i == 0 || pfn != (ent[i - 1] & PAGEMAP_PFN_MASK) + 1)
			(*runs)++;
	}
	return 0;
}

static int build_list(const uint64_t *ent, size_t npages, size_t runs, struct apir_gpa_list *out)
{
	void *mem = calloc(runs, sizeof(Apir__GpaExtent *) + sizeof(Apir__GpaExtent));
	Apir__GpaExtent *slots;
	size_t k = 0;

	if (!mem)
		return ENOMEM;
	out->ext = mem;
	out->n = runs;
	slots = (Apir__GpaExtent *)(out->ext + runs);
	for (size_t i = 0; i < npages; i++) {
		uint64_t gpa = (ent[i] & PAGEMAP_PFN_MASK) * APIR_PAGE_SIZE;

		if (k && out->ext[k - 1]->gpa + out->ext[k - 1]->len == gpa) {
			out->ext[k - 1]->len += APIR_PAGE_SIZE;
			continue;
		}
		apir__gpa_extent__init(&slots[k]);
		slots[k].gpa = gpa;
		slots[k].len = APIR_PAGE_SIZE;
		out->ext[k] = &slots[k];
		k++;
	}
	return 0;
}

int apir_gpa_translate(const void *addr, size_t len, struct apir_gpa_list *out)
{
	uintptr_t first = (uintptr_t)addr & ~(uintptr_t)(APIR_PAGE_SIZE - 1);
	uintptr_t end = (uintptr_t)addr + len;
	size_t npages, runs;
	uint64_t *ent;
	int rc;

	*out = (struct apir_gpa_list){ 0 };
	if (len == 0 || end < (uintptr_t)addr)
		return EINVAL;
	npages = (apir_align_up(end, APIR_PAGE_SIZE) - first) / APIR_PAGE_SIZE;
	if (apir_lock_pages((void *)first, npages * APIR_PAGE_SIZE))
		return errno;
	ent = malloc(npages * sizeof(*ent));
	if (!ent)
		return ENOMEM;
	rc = read_pagemap(first, npages, ent);
	if (!rc)
		rc = count_runs(ent, npages, &runs);
	if (!rc)
		rc = build_list(ent, npages, runs, out);
	free(ent);
	return rc;
}

void apir_gpa_list_free(struct apir_gpa_list *l)
{
	free(l->ext);
	*l = (struct apir_gpa_list){ 0 };
}
