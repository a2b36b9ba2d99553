/* SPDX-License-Identifier: MIT */
/*
 * Memory on the unix transport: ring areas are memfds apird creates (host
 * memory, so bounded per session), regions are memfds the frontend sends,
 * checked before apird maps them: sealed against shrinking, large enough.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dispatch.h"
#include "unix_conn.h"

/* Rings of the unix transport are host memory that apird allocates (and
 * writes completions into): without a bound one frontend could make apird
 * take gigabytes (4096 CQs of 32768 entries: 8 GiB). */
static int ring_quota_check(struct apird_call *c, const char *name, size_t len)
{
	uint64_t quota = (uint64_t)c->d->cfg.session_ring_mib << 20;
	uint64_t used = unix_conn_of(c->s)->ring_bytes;

	if (len <= quota && used <= quota - len)
		return 0;
	return apird_fail(c, ENOMEM, "the %s ring (%zu bytes) exceeds this session's ring memory "
			  "(session_ring_mib %u, %llu bytes in use)", name, len,
			  c->d->cfg.session_ring_mib, (unsigned long long)used);
}

int unix_area_open(struct apird_call *c, const char *name, size_t len,
		   const struct apird_mem_ref *ref, void **area)
{
	int fd, rc;

	if (ref->n_ext)
		return apird_fail(c, EINVAL, "guest-physical ring extents are for the virtio-serial "
				  "transport");
	rc = ring_quota_check(c, name, len);
	if (rc)
		return rc;
	rc = apird_area_create(name, len, &fd, area);
	if (rc)
		return apird_fail(c, -rc, "cannot create the %s ring", name);
	unix_conn_of(c->s)->ring_bytes += len;
	apird_call_send_fd(c, fd, true);
	return 0;
}

void unix_area_close(struct apird_session *s, void *area, size_t len)
{
	struct unix_conn *u = unix_conn_of(s);

	if (u)
		u->ring_bytes -= len;
	munmap(area, len);
}

static int check_memfd(struct apird_call *c, int fd, uint64_t end)
{
	struct stat st;
	int seals;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode))
		return apird_fail(c, EINVAL, "the region's fd is not a memfd");
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return apird_fail(c, EINVAL, "the region's fd is not a memfd (it has no seals)");
	if (!(seals & F_SEAL_SHRINK))
		return apird_fail(c, EINVAL, "the region's memfd is not sealed with F_SEAL_SHRINK");
	if ((uint64_t)st.st_size < end)
		return apird_fail(c, EINVAL, "the memfd holds %lld bytes, the region ends at %llu",
				  (long long)st.st_size, (unsigned long long)end);
	return 0;
}

/* Maps the pages holding [offset, offset + len) of the fd that came with
 * the call. */
int unix_mem_map(struct apird_call *c, const struct apird_mem_ref *ref, uint64_t len, int prot,
		 struct apird_mem_map *m)
{
	uint64_t map_off = ref->offset & ~(uint64_t)(APIR_PAGE_SIZE - 1);
	int fd, rc;

	if (ref->n_ext)
		return apird_fail(c, EINVAL, "guest-physical pages are for the virtio-serial transport");
	fd = c->in->fds[ref->fd_index];
	rc = check_memfd(c, fd, ref->offset + len);
	if (rc)
		return rc;
	m->len = apir_align_up(ref->offset - map_off + len, APIR_PAGE_SIZE);
	m->map = mmap(NULL, m->len, prot, MAP_SHARED, fd, (off_t)map_off);
	if (m->map == MAP_FAILED) {
		int err = errno;

		m->map = NULL;
		if (err == EPERM)
			return apird_fail(c, EACCES, "the region's memfd is write-sealed but the "
					  "access flags allow writes");
		return apird_fail(c, err, "cannot map the region's memfd");
	}
	m->base = (uint8_t *)m->map + (ref->offset - map_off);
	return 0;
}
