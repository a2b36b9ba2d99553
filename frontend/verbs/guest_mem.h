/* SPDX-License-Identifier: MIT */
/*
 * Guest memory for the virtio-serial transport: apird reaches a guest
 * process's memory through the VM's RAM file, so what the frontend shares
 * is named by guest-physical extents. Private to frontend/verbs.
 */
#ifndef APIR_GUEST_MEM_H
#define APIR_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "apir.pb-c.h"

/* Guest-physical extents of some pages, as apir.GpaExtent messages. */
struct apir_gpa_list {
	Apir__GpaExtent **ext;    /* n pointers into one allocation */
	size_t n;
};

/*
 * Locks the pages covering [addr, addr + len) into memory (mlock: resident,
 * never swapped) and translates them through /proc/self/pagemap into
 * extents, coalescing physically contiguous pages. The extents cover the
 * page-aligned range. Errors: EINVAL (empty range), EPERM (pagemap hides
 * frame numbers: not root), EFAULT (a page is not present), ENOMEM, or the
 * errno of mlock/pread. Free the list with apir_gpa_list_free.
 */
int apir_gpa_translate(const void *addr, size_t len, struct apir_gpa_list *out);
void apir_gpa_list_free(struct apir_gpa_list *l);

/* Page-aligned, zeroed, locked memory of len bytes (a multiple of the page
 * size) for an area apird shares (rings, the session page); NULL with errno
 * set. Freed with munmap. */
void *apir_guest_area_alloc(size_t len);

#endif /* APIR_GUEST_MEM_H */
