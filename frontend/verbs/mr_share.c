/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy memory registration: apird must see the application's own
 * pages, so the pages covering a region are moved into a memfd mapped
 * MAP_SHARED|MAP_FIXED at the same address (contents copied first, original
 * protection restored), and the memfd is passed to apird.
 *
 * A converted page range stays in a table with a reference count: a second
 * registration that lies inside a live range reuses its memfd at the right
 * offset (apird then sees the very pages it already maps for the first).
 * When the last reference goes, the memfd is closed; the pages stay mapped
 * from it until the application unmaps them, and a later registration of
 * them converts them again.
 *
 * Limitations (documented in docs, reported with a warning):
 *  - A region that overlaps a live range without lying inside it fails with
 *    EINVAL: its pages would have to come from two memfds, and one region
 *    is one memfd on the wire; re-backing the live range would detach it
 *    from the pages apird already maps.
 *  - Pages of a shared mapping apir did not create (the application's own
 *    shm or file mappings) are refused with EOPNOTSUPP: moving them would
 *    break the sharing.
 *  - Conversion is not atomic with respect to other threads writing the
 *    same pages while ibv_reg_mr runs (a write between the copy and the
 *    remap is lost), and after fork() the registered pages are shared with
 *    the child instead of copied on write.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

#define MEMFD_NAME "apir-mr"
#define MEMFD_MAPS_NAME "/memfd:" MEMFD_NAME

struct apir_shared_range {
	struct apir_shared_range *next;
	uintptr_t start, end;        /* page aligned; memfd offset 0 is start */
	int fd;
	unsigned int refs;
};

static pthread_mutex_t ranges_lock = PTHREAD_MUTEX_INITIALIZER;
static struct apir_shared_range *ranges;

/* A piece of [start, end) that lies in one mapping, and its protection. */
struct vma_piece {
	uintptr_t from, to;
	int prot;
};

struct vma_plan {
	struct vma_piece *piece;
	size_t n, cap;
};

static uintptr_t page_size(void)
{
	return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static int maps_prot(const char *perms)
{
	return (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
	       (perms[2] == 'x' ? PROT_EXEC : 0);
}

static int plan_add(struct vma_plan *plan, uintptr_t from, uintptr_t to, int prot)
{
	if (plan->n == plan->cap) {
		size_t cap = plan->cap ? plan->cap * 2 : 8;
		struct vma_piece *p = realloc(plan->piece, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		plan->piece = p;
		plan->cap = cap;
	}
	plan->piece[plan->n++] = (struct vma_piece){ from, to, prot };
	return 0;
}

/* Checks one /proc/self/maps line against [*next, end) and records the
 * part it covers. Mappings must follow each other without a hole. */
static int plan_line(struct vma_plan *plan, const char *line, uintptr_t *next, uintptr_t end)
{
	unsigned long lo, hi;
	char perms[5];
	int path_at = 0;
	const char *path;

	if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %n", &lo, &hi, perms, &path_at) < 3)
		return EIO;
	if (hi <= *next || lo >= end)
		return 0;
	if (lo > *next)
		return EFAULT;   /* a hole */
	path = path_at ? line + path_at : "";
	if (!(maps_prot(perms) & PROT_READ))
		return EFAULT;
	if (perms[3] == 's' && strncmp(path, MEMFD_MAPS_NAME, strlen(MEMFD_MAPS_NAME)) != 0)
		return EOPNOTSUPP;
	if (plan_add(plan, *next, hi < end ? hi : end, maps_prot(perms)))
		return ENOMEM;
	*next = hi < end ? hi : end;
	return 0;
}

/* Reads the mappings of [start, end): every page mapped and readable. */
static int plan_range(struct vma_plan *plan, uintptr_t start, uintptr_t end)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	char line[4096 + 128];
	uintptr_t next = start;
	int rc = 0;

	if (!maps)
		return errno;
	while (!rc && next < end && fgets(line, sizeof(line), maps))
		rc = plan_line(plan, line, &next, end);
	fclose(maps);
	if (!rc && next < end)
		rc = EFAULT;
	return rc;
}

static int copy_into(int fd, uintptr_t start, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, (const void *)(start + done), len - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (size_t)n;
	}
	return 0;
}

/* Replaces the mappings of [start, end) with fd, keeping each piece's
 * protection. Once the MAP_FIXED mmap succeeded the pages are converted. */
static int remap_from(int fd, const struct vma_plan *plan, uintptr_t start, uintptr_t end)
{
	void *p = mmap((void *)start, end - start, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_FIXED, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	for (size_t i = 0; i < plan->n; i++) {
		const struct vma_piece *v = &plan->piece[i];

		if (v->prot != (PROT_READ | PROT_WRITE) &&
		    mprotect((void *)v->from, v->to - v->from, v->prot))
			apir_warn("cannot restore protection of %#lx-%#lx: %s",
				  (unsigned long)v->from, (unsigned long)v->to, strerror(errno));
	}
	return 0;
}

/* A sealed memfd holding a copy of [start, end), mapped in its place. */
static int convert(uintptr_t start, uintptr_t end, int *out_fd)
{
	struct vma_plan plan = { 0 };
	int fd, rc;

	rc = plan_range(&plan, start, end);
	if (rc)
		goto out;
	fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = errno;
		goto out;
	}
	if (ftruncate(fd, (off_t)(end - start)) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW))
		rc = errno;
	if (!rc)
		rc = copy_into(fd, start, end - start);
	if (!rc)
		rc = remap_from(fd, &plan, start, end);
	if (rc)
		close(fd);
	else
		*out_fd = fd;
out:
	free(plan.piece);
	return rc;
}

/* The live range overlapping [start, end), or NULL. Caller holds the lock. */
static struct apir_shared_range *range_overlapping(uintptr_t start, uintptr_t end)
{
	for (struct apir_shared_range *r = ranges; r; r = r->next)
		if (r->start < end && start < r->end)
			return r;
	return NULL;
}

static int range_new(uintptr_t start, uintptr_t end, struct apir_shared_range **out)
{
	struct apir_shared_range *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return ENOMEM;
	rc = convert(start, end, &r->fd);
	if (rc) {
		free(r);
		return rc;
	}
	r->start = start;
	r->end = end;
	r->refs = 1;
	r->next = ranges;
	ranges = r;
	*out = r;
	return 0;
}

int apir_shared_range_acquire(void *addr, size_t len, int *fd, uint64_t *fd_offset,
			      struct apir_shared_range **range)
{
	uintptr_t a = (uintptr_t)addr, pg = page_size();
	uintptr_t start = a & ~(pg - 1), end;
	struct apir_shared_range *r;
	int rc = 0;

	if (len == 0 || a + len < a || a + len + pg - 1 < a + len)
		return EINVAL;
	end = (a + len + pg - 1) & ~(pg - 1);
	pthread_mutex_lock(&ranges_lock);
	r = range_overlapping(start, end);
	if (r && r->start <= start && end <= r->end) {
		r->refs++;
	} else if (r) {
		apir_warn("cannot register %#lx+%zu: it overlaps the registered pages %#lx-%#lx "
			  "without lying inside them (unsupported)",
			  (unsigned long)a, len, (unsigned long)r->start, (unsigned long)r->end);
		rc = EINVAL;
	} else {
		rc = range_new(start, end, &r);
	}
	pthread_mutex_unlock(&ranges_lock);
	if (rc)
		return rc;
	*fd = r->fd;
	*fd_offset = a - r->start;
	*range = r;
	return 0;
}

void apir_shared_range_release(struct apir_shared_range *range)
{
	pthread_mutex_lock(&ranges_lock);
	if (--range->refs == 0) {
		struct apir_shared_range **p = &ranges;

		while (*p != range)
			p = &(*p)->next;
		*p = range->next;
		close(range->fd);
		free(range);
	}
	pthread_mutex_unlock(&ranges_lock);
}
