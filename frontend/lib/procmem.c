/* SPDX-License-Identifier: MIT */
/*
 * Zero-copy memory registration through the process memory file.
 *
 * apird must see the application's own pages. Each process has ONE memfd,
 * the process memory file, in which the page at virtual address VA always
 * lives at file offset VA; a registered page is mapped MAP_SHARED|MAP_FIXED
 * from there at VA, so the application keeps its addresses and apird maps
 * the very same pages. The file is created at the first registration, sized
 * to cover the whole user address space (sparse: only pages written into it
 * use memory) and sealed against shrinking and growing, which is what lets
 * apird map it safely. RegMr sends it with fd_offset = addr.
 *
 * A page has one place whatever registration brings it there, so
 * registrations may overlap in any way (two small buffers sharing a page,
 * nested, partial) and all of them name the same pages.
 *
 * Registering [addr, addr + len) looks at the mappings of its pages with
 * PROCMAP_QUERY (Linux 6.11: one ioctl per mapping, about a microsecond),
 * or on older kernels by reading /proc/self/maps (tens of microseconds):
 *  - pages mapped from the file at their own offset: nothing to do, no copy
 *    and no mmap (re-registration, overlapping registrations);
 *  - private pages (malloc, anonymous mmap, stack, .data/.bss, private file
 *    mappings): converted: their contents are written into the file at
 *    offset VA, then the file is mapped over them with the protection of
 *    their mapping;
 *  - pages of a shared mapping apir did not create (the application's shm,
 *    shared file mappings and memfds, and in a forked child the pages it
 *    shares with its parent) and hugetlb pages (seen by PROCMAP_QUERY
 *    only; without it their conversion fails in mmap): refused with
 *    EOPNOTSUPP;
 *  - unmapped or unreadable pages: EFAULT.
 * Reading /proc/self/maps costs too much for every registration, so without
 * PROCMAP_QUERY a range whose pages all belong to live registrations (an
 * interval set with reference counts) is trusted without looking; with
 * PROCMAP_QUERY the look is cheap, and it is always taken, so memory that
 * was unmapped and mapped again is never mistaken for converted pages.
 *
 * What this means for the application:
 *  - Pages stay in the file until the process exits, also after their
 *    registrations are gone and the memory was freed and unmapped; the
 *    file's pages at those offsets are reused (overwritten) only when the
 *    same addresses are registered again.
 *  - Converted pages are shared memory: after fork() the child shares them
 *    with the parent instead of copying on write (a child starts its own
 *    process memory file); madvise(MADV_DONTNEED) no longer zeroes them and
 *    MADV_FREE fails on them.
 *  - A write by another thread into a private page between its copy into
 *    the file and the mmap over it is lost: conversion is not atomic.
 *  - mremap() (realloc of a large block) can move converted pages away from
 *    their own offset. Before a conversion rewrites file pages, mappings
 *    still using them from another address get a private copy, so memory
 *    the application moved never changes under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "apir/array.h"
#include "apir/log.h"
#include "procmem.h"

#define MEM_FILE_NAME "apir-process-memory"
/* Above every user address 64-bit Linux hands out (47 bits, 56 with x86-64
 * five-level paging, 52 on arm64), so offset VA exists for every VA. */
#define MEM_FILE_SIZE ((uint64_t)1 << 57)

_Static_assert(sizeof(off_t) == 8, "file offsets must hold virtual addresses");

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U   /* Linux 6.3; older kernels refuse the flag */
#endif

#ifndef PROCMAP_QUERY   /* Linux 6.11 uapi, missing from older headers */
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE 0x01
#define PROCMAP_QUERY_VMA_WRITABLE 0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE 0x04
#define PROCMAP_QUERY_VMA_SHARED 0x08
#endif

/* One mapping (VMA) of the process. */
struct vma_info {
	uintptr_t start, end;
	uint64_t offset;   /* file offset of start */
	dev_t dev;
	ino_t ino;
	int prot;
	bool shared, huge;
};

/* Pages to give new backing. moved: they are mapped from the process
 * memory file, but from offset src instead of their own address. */
struct piece {
	uintptr_t from, to;
	uint64_t src;
	int prot;
	bool moved;
};

struct plan {
	struct piece *piece;
	size_t n, cap;
};

/* Page runs of live registrations: sorted, disjoint, refs > 0. Runs never
 * merge, so a live registration's bounds stay run bounds. */
struct held_run {
	uintptr_t start, end;
	unsigned long refs;
};

static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;

/* Everything below is guarded by mem_lock and belongs to process pid. */
static struct {
	pid_t pid;
	int fd;              /* the process memory file, -1 until first needed */
	dev_t dev;
	ino_t ino;
	bool probed;         /* maps / use_maps_text are set */
	int maps;            /* /proc/self/maps, for PROCMAP_QUERY */
	bool use_maps_text;  /* no PROCMAP_QUERY: read /proc/self/maps */
	bool force_maps_text;   /* tests: as if there were no PROCMAP_QUERY */
	struct plan plan;    /* reused by every registration */
	struct held_run *held;  /* only kept when use_maps_text */
	size_t nheld, held_cap;
} mem = { .fd = -1, .maps = -1 };

static uintptr_t page_size(void)
{
	return (uintptr_t)sysconf(_SC_PAGESIZE);
}

static int plan_add(struct plan *plan, struct piece piece)
{
	struct piece *p = apir_array_grow(plan->piece, &plan->cap, plan->n + 1, sizeof(*p));

	if (!p)
		return ENOMEM;
	plan->piece = p;
	plan->piece[plan->n++] = piece;
	return 0;
}

/* ---- the file --------------------------------------------------------------- */

/* ftruncate and pwrite beyond RLIMIT_FSIZE raise SIGXFSZ, which kills. */
static int check_file_size_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_FSIZE, &lim) || lim.rlim_cur == RLIM_INFINITY ||
	    lim.rlim_cur >= MEM_FILE_SIZE)
		return 0;
	apir_warn("cannot register memory: the file size limit (ulimit -f) is below the "
		  "%llu bytes the process memory file spans", (unsigned long long)MEM_FILE_SIZE);
	return EFBIG;
}

static int create_file(void)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
	struct stat st;
	int fd, rc = check_file_size_limit();

	if (rc)
		return rc;
	/* Executable pages can be registered too: ask for an executable memfd
	 * where vm.memfd_noexec would make it non-executable by default. */
	fd = memfd_create(MEM_FILE_NAME, flags | MFD_EXEC);
	if (fd < 0 && (errno == EINVAL || errno == EACCES))
		fd = memfd_create(MEM_FILE_NAME, flags);
	if (fd < 0)
		return errno;
	if (ftruncate(fd, (off_t)MEM_FILE_SIZE) ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) || fstat(fd, &st)) {
		rc = errno;
		close(fd);
		return rc;
	}
	mem.fd = fd;
	mem.dev = st.st_dev;
	mem.ino = st.st_ino;
	return 0;
}

static void probe_procmap_query(void)
{
	struct procmap_query q = { .size = sizeof(q), .query_addr = (uintptr_t)&mem };

	mem.maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	mem.use_maps_text = mem.force_maps_text || mem.maps < 0 ||
			    ioctl(mem.maps, PROCMAP_QUERY, &q) != 0;
	mem.probed = true;
}

/* A forked child must not write into its parent's file, where the parent's
 * registered pages live: it starts its own. */
static void forget_parent_state(void)
{
	if (mem.fd >= 0)
		close(mem.fd);
	if (mem.maps >= 0)
		close(mem.maps);
	mem.fd = mem.maps = -1;
	mem.probed = false;
	mem.nheld = 0;
}

static int mem_ready(void)
{
	pid_t self = getpid();

	if (mem.pid != self) {
		if (mem.pid)
			forget_parent_state();
		mem.pid = self;
	}
	if (!mem.probed)
		probe_procmap_query();
	return mem.fd >= 0 ? 0 : create_file();
}

static bool in_file(const struct vma_info *v)
{
	return v->shared && v->dev == mem.dev && v->ino == mem.ino;
}

static int file_io(bool write, void *buf, size_t len, uint64_t offset)
{
	size_t done = 0;

	while (done < len) {
		char *at = (char *)buf + done;
		off_t off = (off_t)(offset + done);
		/* Raw system calls: whole pages move, including bytes the C
		 * library or a sanitizer considers outside any object (malloc
		 * headers, redzones), so an interposed pread/pwrite that checks
		 * the buffer must not see them. */
		ssize_t n = syscall(write ? SYS_pwrite64 : SYS_pread64, mem.fd, at, len - done, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (size_t)n;
	}
	return 0;
}

/* ---- looking at the mappings ------------------------------------------------ */

static int query_vma(uintptr_t addr, struct vma_info *v)
{
	struct procmap_query q = { .size = sizeof(q), .query_addr = addr };

	if (ioctl(mem.maps, PROCMAP_QUERY, &q))
		return errno == ENOENT ? EFAULT : errno ? errno : EIO;
	*v = (struct vma_info){
		.start = q.vma_start,
		.end = q.vma_end,
		.offset = q.vma_offset,
		.dev = makedev(q.dev_major, q.dev_minor),
		.ino = q.inode,
		.prot = (q.vma_flags & PROCMAP_QUERY_VMA_READABLE ? PROT_READ : 0) |
			(q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE ? PROT_WRITE : 0) |
			(q.vma_flags & PROCMAP_QUERY_VMA_EXECUTABLE ? PROT_EXEC : 0),
		.shared = q.vma_flags & PROCMAP_QUERY_VMA_SHARED,
		.huge = q.vma_page_size > page_size(),
	};
	return 0;
}

static bool parse_maps_line(const char *line, struct vma_info *v)
{
	unsigned long lo, hi, ino;
	unsigned long long off;
	unsigned int major, minor;
	char perms[5];

	if (sscanf(line, "%lx-%lx %4s %llx %x:%x %lu", &lo, &hi, perms, &off, &major, &minor,
		   &ino) != 7 || strlen(perms) != 4)
		return false;
	*v = (struct vma_info){
		.start = lo,
		.end = hi,
		.offset = off,
		.dev = makedev(major, minor),
		.ino = ino,
		.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			(perms[2] == 'x' ? PROT_EXEC : 0),
		.shared = perms[3] == 's',
	};
	return true;
}

#define MAPS_STOP (-1)

/* Calls fn for each line of /proc/self/maps until it returns non-zero;
 * MAPS_STOP ends the walk without an error. */
static int maps_each(int (*fn)(const struct vma_info *v, void *arg), void *arg)
{
	FILE *maps = fopen("/proc/self/maps", "re");
	struct vma_info v;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!maps)
		return errno;
	while (!rc && getline(&line, &cap, maps) > 0)
		rc = parse_maps_line(line, &v) ? fn(&v, arg) : EIO;
	free(line);
	fclose(maps);
	return rc == MAPS_STOP ? 0 : rc;
}

/* ---- planning ------------------------------------------------------------- */

/* Decides what [from, to), a part of mapping v, needs. */
static int plan_vma(struct plan *plan, const struct vma_info *v, uintptr_t from, uintptr_t to)
{
	uint64_t src = v->offset + (from - v->start);

	if (!(v->prot & PROT_READ))
		return EFAULT;
	if (v->huge || (v->shared && !in_file(v))) {
		apir_warn("cannot register pages %#lx-%#lx: they belong to a %s mapping apir did "
			  "not create; register private memory (malloc, anonymous mmap) instead",
			  (unsigned long)from, (unsigned long)to,
			  v->huge ? "hugetlb" : "shared (shm, file or memfd)");
		return EOPNOTSUPP;
	}
	if (in_file(v) && src == from)
		return 0;
	return plan_add(plan, (struct piece){ from, to, src, v->prot, in_file(v) });
}

static int plan_by_query(struct plan *plan, uintptr_t start, uintptr_t end)
{
	uintptr_t at = start;

	while (at < end) {
		struct vma_info v;
		int rc = query_vma(at, &v);

		if (rc)
			return rc;
		rc = plan_vma(plan, &v, at, v.end < end ? v.end : end);
		if (rc)
			return rc;
		at = v.end;
	}
	return 0;
}

struct text_walk {
	struct plan *plan;
	uintptr_t next, end;
};

static int plan_text_vma(const struct vma_info *v, void *arg)
{
	struct text_walk *w = arg;
	uintptr_t to;
	int rc;

	if (v->end <= w->next)
		return 0;
	if (v->start > w->next)
		return EFAULT;   /* a hole: the lines are sorted */
	to = v->end < w->end ? v->end : w->end;
	rc = plan_vma(w->plan, v, w->next, to);
	w->next = to;
	return rc ? rc : to == w->end ? MAPS_STOP : 0;
}

static int plan_by_text(struct plan *plan, uintptr_t start, uintptr_t end)
{
	struct text_walk walk = { plan, start, end };
	int rc = maps_each(plan_text_vma, &walk);

	return rc ? rc : walk.next < end ? EFAULT : 0;
}

/* ---- converting ----------------------------------------------------------- */

/* Replaces moved pages by a private copy of them (read from the file, so
 * their protection does not matter). */
static int detach(const struct piece *p)
{
	size_t len = p->to - p->from;
	void *copy = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rc;

	if (copy == MAP_FAILED)
		return errno;
	rc = file_io(false, copy, len, p->src);
	if (!rc && mprotect(copy, len, p->prot))
		rc = errno;
	if (!rc && mremap(copy, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)p->from) == MAP_FAILED)
		rc = errno;
	if (rc)
		munmap(copy, len);
	return rc;
}

struct moved_scan {
	uintptr_t from, to;   /* file offsets about to be rewritten */
	struct plan found;
};

static int note_moved(const struct vma_info *v, void *arg)
{
	struct moved_scan *s = arg;
	uint64_t lo, hi;

	if (!in_file(v) || v->offset == v->start)
		return 0;
	lo = v->offset > s->from ? v->offset : s->from;
	hi = v->offset + (v->end - v->start);
	hi = hi < s->to ? hi : s->to;
	if (lo >= hi)
		return 0;
	return plan_add(&s->found, (struct piece){ v->start + (lo - v->offset),
						   v->start + (hi - v->offset), lo, v->prot, true });
}

/* Before file pages [from, to) are rewritten, mappings that still use them
 * from another address (mremap moved them) get a private copy. */
static int detach_other_users(uintptr_t from, uintptr_t to)
{
	struct moved_scan scan = { .from = from, .to = to };
	off_t data = lseek(mem.fd, (off_t)from, SEEK_DATA);
	int rc;

	if (data < 0)
		return errno == ENXIO ? 0 : errno;
	if ((uintptr_t)data >= to)
		return 0;   /* never written: no moved mapping holds data there */
	rc = maps_each(note_moved, &scan);
	for (size_t i = 0; !rc && i < scan.found.n; i++)
		rc = detach(&scan.found.piece[i]);
	free(scan.found.piece);
	return rc;
}

/* Private pages into the file at their own offset, then mapped from it.
 * Once the MAP_FIXED mmap succeeded they are converted. */
static int convert(const struct piece *p)
{
	int rc = detach_other_users(p->from, p->to);

	if (!rc)
		rc = file_io(true, (void *)p->from, p->to - p->from, p->from);
	if (!rc && mmap((void *)p->from, p->to - p->from, p->prot, MAP_SHARED | MAP_FIXED,
			mem.fd, (off_t)p->from) == MAP_FAILED)
		rc = errno;
	return rc;
}

/* Moved pages are detached first, all of them before any file write, so
 * that each copy reads the file pages it had. */
static int share_pages(uintptr_t start, uintptr_t end)
{
	struct plan *plan = &mem.plan;
	int rc;

	plan->n = 0;
	rc = mem.use_maps_text ? plan_by_text(plan, start, end) : plan_by_query(plan, start, end);
	for (size_t i = 0; !rc && i < plan->n; i++)
		if (plan->piece[i].moved)
			rc = detach(&plan->piece[i]);
	for (size_t i = 0; !rc && i < plan->n; i++)
		rc = convert(&plan->piece[i]);
	return rc;
}

/* ---- pages held by live registrations ---------------------------------------- */

/* Index of the first run that ends after addr. */
static size_t held_find(uintptr_t addr)
{
	size_t lo = 0, hi = mem.nheld;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (mem.held[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool held_covers(uintptr_t start, uintptr_t end)
{
	for (size_t i = held_find(start); start < end; i++) {
		if (i == mem.nheld || mem.held[i].start > start)
			return false;
		start = mem.held[i].end;
	}
	return true;
}

static void held_insert(size_t i, uintptr_t start, uintptr_t end, unsigned long refs)
{
	memmove(&mem.held[i + 1], &mem.held[i], (mem.nheld - i) * sizeof(*mem.held));
	mem.held[i] = (struct held_run){ start, end, refs };
	mem.nheld++;
}

/* Makes addr a run bound. */
static void held_split(uintptr_t addr)
{
	size_t i = held_find(addr);

	if (i < mem.nheld && mem.held[i].start < addr) {
		held_insert(i + 1, addr, mem.held[i].end, mem.held[i].refs);
		mem.held[i].end = addr;
	}
}

/* One more registration on [start, end): two splits at most, and one new
 * run per gap (one more gap than runs inside). */
static int held_add(uintptr_t start, uintptr_t end)
{
	size_t i = held_find(start), need = mem.nheld + 3;
	uintptr_t at = start;
	struct held_run *runs;

	for (size_t j = i; j < mem.nheld && mem.held[j].start < end; j++)
		need++;
	runs = apir_array_grow(mem.held, &mem.held_cap, need, sizeof(*runs));
	if (!runs)
		return ENOMEM;
	mem.held = runs;
	held_split(start);
	held_split(end);
	for (i = held_find(start); at < end; i++) {
		if (i < mem.nheld && mem.held[i].start == at) {
			mem.held[i].refs++;
			at = mem.held[i].end;
		} else {
			uintptr_t to = i < mem.nheld && mem.held[i].start < end ? mem.held[i].start : end;

			held_insert(i, at, to, 1);
			at = to;
		}
	}
	return 0;
}

/* One registration fewer on [start, end). Its bounds are run bounds, so a
 * run reaching outside it is not its own and is left alone. */
static void held_remove(uintptr_t start, uintptr_t end)
{
	size_t i = held_find(start), kept = i;

	for (; i < mem.nheld && mem.held[i].start < end; i++) {
		struct held_run r = mem.held[i];

		if (r.start >= start && r.end <= end)
			r.refs--;
		if (r.refs)
			mem.held[kept++] = r;
	}
	memmove(&mem.held[kept], &mem.held[i], (mem.nheld - i) * sizeof(*mem.held));
	mem.nheld -= i - kept;
}

/* ---- interface ---------------------------------------------------------------- */

int apir_procmem_acquire(void *addr, size_t len, int *fd, uint64_t *fd_offset)
{
	uintptr_t a = (uintptr_t)addr, pg = page_size(), start, end;
	int rc;

	if (len == 0 || a > MEM_FILE_SIZE || len > MEM_FILE_SIZE - a)
		return EINVAL;
	start = a & ~(pg - 1);
	end = (a + len + pg - 1) & ~(pg - 1);
	pthread_mutex_lock(&mem_lock);
	rc = mem_ready();
	if (!rc && !(mem.use_maps_text && held_covers(start, end)))
		rc = share_pages(start, end);
	if (!rc && mem.use_maps_text)
		rc = held_add(start, end);
	if (!rc)
		*fd = mem.fd;
	pthread_mutex_unlock(&mem_lock);
	if (!rc)
		*fd_offset = a;
	return rc;
}

void apir_procmem_release(void *addr, size_t len)
{
	uintptr_t a = (uintptr_t)addr, pg = page_size();

	pthread_mutex_lock(&mem_lock);
	if (mem.pid == getpid() && mem.use_maps_text)
		held_remove(a & ~(pg - 1), (a + len + pg - 1) & ~(pg - 1));
	pthread_mutex_unlock(&mem_lock);
}

void apir_procmem_use_maps_text(void)
{
	pthread_mutex_lock(&mem_lock);
	mem.force_maps_text = true;
	mem.use_maps_text = true;
	pthread_mutex_unlock(&mem_lock);
}
