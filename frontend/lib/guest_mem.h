/* SPDX-License-Identifier: MIT */
/*
 * Guest memory for the virtio-serial transport: apird reaches a guest
 * process's memory through the VM's RAM file, so what the frontend shares
 * is named by guest-physical extents. Private to frontend/lib (and tools
 * that speak the guest's protocol by hand).
 */
#ifndef APIR_GUEST_MEM_H
#define APIR_GUEST_MEM_H

#include <stddef.h>

#include "apir/client_transport.h"

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

/* mlock through the raw system call: sanitizer runtimes replace mlock()
 * with a no-op, and an unlocked page is one apird must never be told about.
 * Returns 0 or -1 with errno set. */
int apir_lock_pages(void *addr, size_t len);

/* ---- guest_area.c ------------------------------------------------------- */

/*
 * Page-aligned, zeroed, locked memory of len bytes (a multiple of the page
 * size) for an area apird writes (rings, the session page); NULL with errno
 * set. The pages belong to a file of the guest's tmpfs (/dev/shm), not to
 * the process, so that they are not handed to another process when this
 * one dies while apird may still write them; apir_guest_area_reap removes
 * such files once apird has ended their sessions. Without a usable
 * /dev/shm the memory is anonymous.
 */
void *apir_guest_area_alloc(size_t len);
/* Unmaps an area of either transport; an area of apir_guest_area_alloc
 * loses its file too. */
void apir_guest_area_free(void *base, size_t len);
/* Removes the area files of other processes: call it once apird has taken
 * this process's Hello, which ended every earlier session on the port (the
 * port is exclusive, so their processes are gone). */
void apir_guest_area_reap(void);

#endif /* APIR_GUEST_MEM_H */
