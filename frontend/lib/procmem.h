/* SPDX-License-Identifier: MIT */
/*
 * The process memory file (procmem.c): how the unix transport names a
 * process's own memory to apird. Private to frontend/lib.
 */
#ifndef APIR_CLIENT_PROCMEM_H
#define APIR_CLIENT_PROCMEM_H

#include <stddef.h>
#include <stdint.h>

/*
 * Puts the pages covering [addr, addr + len) into the process memory file
 * (mapped MAP_SHARED at the same address, contents and protection kept) so
 * that apird can map them; registrations may overlap freely. On 0: *fd
 * (borrowed: it stays open for the life of the process) holds byte addr at
 * *fd_offset (which is addr), and the call is to be paired with one
 * apir_procmem_release of the same range.
 * Errors: EINVAL (empty range, or beyond the address space), EFAULT (pages
 * not mapped or not readable), EOPNOTSUPP (pages of a shared or hugetlb
 * mapping apir did not create), EFBIG (a file size limit is set), or the
 * errno of a failed system call.
 */
int apir_procmem_acquire(void *addr, size_t len, int *fd, uint64_t *fd_offset);
void apir_procmem_release(void *addr, size_t len);
/* For tests: look at mappings through the text of /proc/self/maps, as on
 * kernels without PROCMAP_QUERY. Call it while no registration is alive. */
void apir_procmem_use_maps_text(void);

#endif /* APIR_CLIENT_PROCMEM_H */
