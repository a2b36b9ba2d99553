/* SPDX-License-Identifier: MIT */
/*
 * Rings and session pages live in memfds that apird creates and seals
 * against shrinking and growing before the frontend ever sees them: a
 * frontend that could truncate one would make apird's next access fault.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apird.h"

#define AREA_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

int apird_area_create(const char *name, size_t len, int *fd, void **map)
{
	int memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *p;
	int rc;

	if (memfd < 0)
		return -errno;
	if (ftruncate(memfd, (off_t)len) || fcntl(memfd, F_ADD_SEALS, AREA_SEALS))
		goto fail;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (p == MAP_FAILED)
		goto fail;
	*fd = memfd;
	*map = p;
	return 0;
fail:
	rc = -errno;
	close(memfd);
	return rc;
}
