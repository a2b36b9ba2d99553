/* SPDX-License-Identifier: MIT */
/* procmem: registered pages move into the process memory file at offset
 * VA; overlapping registrations, contents, zero copy, protection, moved
 * and remapped memory, fork, threads, refusals. Every test runs twice: with
 * PROCMAP_QUERY (where the kernel has it) and with /proc/self/maps text. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "procmem.h"
#include "unit.h"

#define FILE_NAME "/memfd:apir-process-memory"

static size_t pg;

struct maps_entry {
	char line[512];
	unsigned long lo, hi, offset;
	char perms[5];
};

/* The /proc/self/maps line of the mapping holding addr. */
static int maps_entry(const void *addr, struct maps_entry *e)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	while (f && !found && fgets(e->line, sizeof(e->line), f))
		found = sscanf(e->line, "%lx-%lx %4s %lx", &e->lo, &e->hi, e->perms, &e->offset) == 4 &&
			e->lo <= (uintptr_t)addr && (uintptr_t)addr < e->hi;
	if (f)
		fclose(f);
	return found;
}

/* addr is mapped from the process memory file at offset addr, with perms. */
static int in_file_at_own_offset(const void *addr, const char *perms)
{
	struct maps_entry e;

	return maps_entry(addr, &e) && strstr(e.line, FILE_NAME) && strcmp(e.perms, perms) == 0 &&
	       e.offset + ((uintptr_t)addr - e.lo) == (uintptr_t)addr;
}

static int in_any_file(const void *addr)
{
	struct maps_entry e;

	return maps_entry(addr, &e) && strstr(e.line, FILE_NAME);
}

/* The page table maps addr now (a fresh mmap over it would clear that). */
static int page_present(const void *addr)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t entry = 0;

	if (fd < 0)
		return 0;
	if (pread(fd, &entry, sizeof(entry), (off_t)((uintptr_t)addr / pg * sizeof(entry))) != sizeof(entry))
		entry = 0;
	close(fd);
	return (int)(entry >> 63);
}

static uint8_t pattern(size_t i, unsigned int seed)
{
	return (uint8_t)(i * 7 + seed);
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = pattern(i, seed);
}

static int intact(const uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern(i, seed))
			return 0;
	return 1;
}

static uint8_t *map_pages(size_t n, unsigned int seed)
{
	uint8_t *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	fill(p, n * pg, seed);
	return p;
}

/* Registers [addr, addr + len); checks the offset is the address. */
static int share(void *addr, size_t len, int *fd)
{
	uint64_t off = 0;
	int rc = apir_procmem_acquire(addr, len, fd, &off);

	if (!rc)
		CU_ASSERT_EQUAL(off, (uintptr_t)addr);
	return rc;
}

static uint8_t file_byte(int fd, const void *addr)
{
	uint8_t b = 0;

	CU_ASSERT_EQUAL(pread(fd, &b, 1, (off_t)(uintptr_t)addr), 1);
	return b;
}

static void test_convert_keeps_contents_and_is_zero_copy(void)
{
	uint8_t *p = map_pages(3, 3), one = 0xcd;
	struct stat st;
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p + 100, 5000, &fd), 0);
	CU_ASSERT(intact(p, 3 * pg, 3));
	CU_ASSERT(in_file_at_own_offset(p, "rw-s"));
	CU_ASSERT(in_file_at_own_offset(p + pg, "rw-s"));
	CU_ASSERT(!in_any_file(p + 2 * pg));
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT((uint64_t)st.st_size >= (uintptr_t)p + 3 * pg);
	CU_ASSERT_EQUAL(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
			F_SEAL_SHRINK | F_SEAL_GROW);
	/* what apird maps (the file at offset VA) is the application's memory */
	p[200] = 0xab;
	CU_ASSERT_EQUAL(file_byte(fd, p + 200), 0xab);
	CU_ASSERT_EQUAL(pwrite(fd, &one, 1, (off_t)(uintptr_t)(p + 300)), 1);
	CU_ASSERT_EQUAL(p[300], 0xcd);
	apir_procmem_release(p + 100, 5000);
	munmap(p, 3 * pg);
}

static void test_overlapping_registrations_share_pages(void)
{
	uint8_t *p = map_pages(4, 5);
	int fd[4];

	CU_ASSERT_EQUAL_FATAL(share(p + pg, pg, &fd[0]), 0);
	CU_ASSERT_EQUAL_FATAL(share(p + pg + 8, 2 * pg, &fd[1]), 0);   /* partial overlap */
	CU_ASSERT_EQUAL_FATAL(share(p + pg + 16, 64, &fd[2]), 0);      /* nested */
	CU_ASSERT_EQUAL_FATAL(share(p, 4 * pg, &fd[3]), 0);            /* around all */
	for (int i = 1; i < 4; i++)
		CU_ASSERT_EQUAL(fd[i], fd[0]);
	CU_ASSERT(intact(p, 4 * pg, 5));
	for (size_t page = 0; page < 4; page++)
		CU_ASSERT(in_file_at_own_offset(p + page * pg, "rw-s"));
	p[pg + 20] = 0x5a;
	CU_ASSERT_EQUAL(file_byte(fd[0], p + pg + 20), 0x5a);
	apir_procmem_release(p + pg + 8, 2 * pg);
	apir_procmem_release(p + pg, pg);
	apir_procmem_release(p, 4 * pg);
	apir_procmem_release(p + pg + 16, 64);
	CU_ASSERT(intact(p, pg + 20, 5));
	munmap(p, 4 * pg);
}

/* Small buffers of an application: two in one page, one straddling two
 * pages, one in the next page. */
static void test_small_buffers_sharing_pages(void)
{
	uint8_t *p = map_pages(2, 0);
	struct { size_t at, len; } buf[] = { { 16, 100 }, { 200, 100 }, { pg - 50, 100 }, { pg + 60, 100 } };
	int fd[4];

	for (int i = 0; i < 4; i++)
		fill(p + buf[i].at, buf[i].len, 11 * (i + 1));
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(share(p + buf[i].at, buf[i].len, &fd[i]), 0);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(fd[i], fd[0]);
		CU_ASSERT(intact(p + buf[i].at, buf[i].len, 11 * (i + 1)));
		CU_ASSERT_EQUAL(file_byte(fd[0], p + buf[i].at + 3), p[buf[i].at + 3]);
	}
	for (int i = 0; i < 4; i++)
		apir_procmem_release(p + buf[i].at, buf[i].len);
	munmap(p, 2 * pg);
}

static void test_converted_pages_are_left_alone(void)
{
	uint8_t *p = map_pages(2, 9);
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	p[0] = pattern(0, 9);   /* writes fault the pages in */
	p[pg] = pattern(pg, 9);
	CU_ASSERT_FATAL(page_present(p) && page_present(p + pg));
	/* inside a live registration, and again after it is gone: no copy, and
	 * no mmap (which would have emptied the page table) */
	CU_ASSERT_EQUAL_FATAL(share(p + 10, pg, &fd), 0);
	CU_ASSERT(page_present(p) && page_present(p + pg));
	apir_procmem_release(p + 10, pg);
	apir_procmem_release(p, 2 * pg);
	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	CU_ASSERT(page_present(p) && page_present(p + pg));
	CU_ASSERT(intact(p, 2 * pg, 9));
	apir_procmem_release(p, 2 * pg);
	munmap(p, 2 * pg);
}

static void test_protection_is_kept(void)
{
	uint8_t *p = map_pages(3, 1);
	int fd;

	CU_ASSERT_EQUAL_FATAL(mprotect(p + pg, pg, PROT_READ), 0);
	CU_ASSERT_EQUAL_FATAL(mprotect(p + 2 * pg, pg, PROT_READ | PROT_EXEC), 0);
	CU_ASSERT_EQUAL_FATAL(share(p, 3 * pg, &fd), 0);
	CU_ASSERT(in_file_at_own_offset(p, "rw-s"));
	CU_ASSERT(in_file_at_own_offset(p + pg, "r--s"));
	CU_ASSERT(in_file_at_own_offset(p + 2 * pg, "r-xs"));
	CU_ASSERT(intact(p, 3 * pg, 1));
	apir_procmem_release(p, 3 * pg);
	munmap(p, 3 * pg);
}

/* Memory unmapped and mapped again at the same addresses is new memory:
 * its own contents go into the file, not the old pages'. */
static void test_remapped_addresses_take_new_contents(void)
{
	uint8_t *p = map_pages(2, 21), *again;
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	apir_procmem_release(p, 2 * pg);
	munmap(p, 2 * pg);
	again = mmap(p, 2 * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CU_ASSERT_FATAL(again == p);
	fill(p, 2 * pg, 77);
	CU_ASSERT_EQUAL_FATAL(share(p + 5, pg, &fd), 0);
	CU_ASSERT(intact(p, 2 * pg, 77));
	CU_ASSERT_EQUAL(file_byte(fd, p + 5), pattern(5, 77));
	apir_procmem_release(p + 5, pg);
	munmap(p, 2 * pg);
}

/* Converted pages that mremap moved (as realloc does) keep their contents
 * when their old addresses are registered again, and convert themselves. */
static void test_moved_pages_keep_their_contents(void)
{
	uint8_t *p = map_pages(2, 31), *q, *fresh;
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	apir_procmem_release(p, 2 * pg);
	q = mmap(NULL, 2 * pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(q != MAP_FAILED);
	CU_ASSERT_FATAL(mremap(p, 2 * pg, 2 * pg, MREMAP_MAYMOVE | MREMAP_FIXED, q) == q);
	fresh = mmap(p, 2 * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	CU_ASSERT_FATAL(fresh == p);
	fill(p, 2 * pg, 41);
	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	CU_ASSERT(intact(p, 2 * pg, 41));
	CU_ASSERT(intact(q, 2 * pg, 31));
	CU_ASSERT(!in_any_file(q));   /* it got a private copy */
	CU_ASSERT_EQUAL_FATAL(share(q + 1, pg, &fd), 0);
	CU_ASSERT(in_file_at_own_offset(q, "rw-s"));
	CU_ASSERT(intact(q, 2 * pg, 31));
	CU_ASSERT(intact(p, 2 * pg, 41));
	apir_procmem_release(q + 1, pg);
	apir_procmem_release(p, 2 * pg);
	munmap(p, 2 * pg);
	munmap(q, 2 * pg);
}

/* A registration of moved pages themselves puts them at their own offset. */
static void test_moved_pages_register(void)
{
	uint8_t *p = map_pages(2, 51), *q;
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	apir_procmem_release(p, 2 * pg);
	q = mremap(p, 2 * pg, 4 * pg, MREMAP_MAYMOVE);
	CU_ASSERT_FATAL(q != MAP_FAILED);
	if (q == p) {   /* grown in place: nothing moved */
		munmap(q, 4 * pg);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(share(q, 2 * pg, &fd), 0);
	CU_ASSERT(in_file_at_own_offset(q, "rw-s"));
	CU_ASSERT(intact(q, 2 * pg, 51));
	q[7] = 0x42;
	CU_ASSERT_EQUAL(file_byte(fd, q + 7), 0x42);
	apir_procmem_release(q, 2 * pg);
	munmap(q, 4 * pg);
}

static void test_bad_ranges(void)
{
	uint8_t *p = map_pages(3, 0), *shared;
	int fd, own;

	CU_ASSERT_EQUAL(share(p, 0, &fd), EINVAL);
	CU_ASSERT_EQUAL(share(p, SIZE_MAX, &fd), EINVAL);
	munmap(p + pg, pg);   /* a hole */
	CU_ASSERT_EQUAL(share(p, 3 * pg, &fd), EFAULT);
	CU_ASSERT_EQUAL(mprotect(p, pg, PROT_NONE), 0);
	CU_ASSERT_EQUAL(share(p, pg, &fd), EFAULT);
	shared = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(shared != MAP_FAILED);
	CU_ASSERT_EQUAL(share(shared, pg, &fd), EOPNOTSUPP);
	munmap(shared, pg);
	own = memfd_create("application", MFD_CLOEXEC);
	CU_ASSERT_FATAL(own >= 0 && ftruncate(own, (off_t)pg) == 0);
	shared = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, own, 0);
	CU_ASSERT_FATAL(shared != MAP_FAILED);
	CU_ASSERT_EQUAL(share(shared, pg, &fd), EOPNOTSUPP);
	munmap(shared, pg);
	close(own);
	munmap(p, pg);
	munmap(p + 2 * pg, pg);
}

#define THREADS 4
#define ROUNDS 200

static uint8_t *threads_area;

static void *register_in_loop(void *arg)
{
	size_t id = (size_t)(uintptr_t)arg;
	uintptr_t fails = 0;
	int fd;

	for (size_t i = 0; i < ROUNDS; i++) {
		uint8_t *at = threads_area + (id * 3 + i) % 5 * (pg / 2) + id;
		size_t len = pg + (i % 3) * pg / 2;

		if (share(at, len, &fd))
			fails++;
		else
			apir_procmem_release(at, len);
	}
	return (void *)fails;
}

static void test_threads_register_overlapping_ranges(void)
{
	pthread_t t[THREADS];
	void *fails;

	threads_area = map_pages(6, 61);
	for (size_t i = 0; i < THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, register_in_loop, (void *)(uintptr_t)i), 0);
	for (size_t i = 0; i < THREADS; i++) {
		CU_ASSERT_EQUAL(pthread_join(t[i], &fails), 0);
		CU_ASSERT_PTR_NULL(fails);
	}
	CU_ASSERT(intact(threads_area, 6 * pg, 61));
	munmap(threads_area, 6 * pg);
}

/* Child exit status bits. */
#define CHILD_OWN_FILE 1
#define CHILD_INHERITED_REFUSED 2
#define CHILD_CONVERTS 4
#define CHILD_SHARES_PARENT_PAGES 8

static int child_checks(uint8_t *registered, uint8_t *private_pages, ino_t parent_file)
{
	struct stat st;
	int fd, status = 0;

	if (share(private_pages, pg, &fd) == 0 && fstat(fd, &st) == 0) {
		status |= st.st_ino != parent_file ? CHILD_OWN_FILE : 0;
		status |= intact(private_pages, pg, 81) && in_file_at_own_offset(private_pages, "rw-s")
			  ? CHILD_CONVERTS : 0;
		private_pages[0] = 0xee;   /* the parent's copy must not see this */
	}
	status |= share(registered, pg, &fd) == EOPNOTSUPP ? CHILD_INHERITED_REFUSED : 0;
	registered[1] = 0x66;   /* shared with the parent: it sees this */
	status |= CHILD_SHARES_PARENT_PAGES;
	return status;
}

static void test_fork_child_has_its_own_file(void)
{
	uint8_t *registered = map_pages(1, 71), *private_pages = map_pages(1, 81);
	struct stat st;
	int fd, status;
	pid_t child;

	CU_ASSERT_EQUAL_FATAL(share(registered, pg, &fd), 0);
	CU_ASSERT_EQUAL_FATAL(fstat(fd, &st), 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0)
		_exit(child_checks(registered, private_pages, st.st_ino));
	CU_ASSERT_EQUAL_FATAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), CHILD_OWN_FILE | CHILD_INHERITED_REFUSED |
					     CHILD_CONVERTS | CHILD_SHARES_PARENT_PAGES);
	CU_ASSERT_EQUAL(registered[1], 0x66);
	CU_ASSERT(intact(private_pages, pg, 81));
	CU_ASSERT(!in_any_file(private_pages));
	apir_procmem_release(registered, pg);
	munmap(registered, pg);
	munmap(private_pages, pg);
}

/* Without PROCMAP_QUERY, live registrations are trusted without reading
 * /proc/self/maps: a range inside one is accepted even after the
 * application made it unreadable (with PROCMAP_QUERY it gets EFAULT). */
static void test_text_trusts_live_registrations(void)
{
	uint8_t *p = map_pages(2, 91);
	int fd;

	CU_ASSERT_EQUAL_FATAL(share(p, 2 * pg, &fd), 0);
	CU_ASSERT_EQUAL_FATAL(mprotect(p, pg, PROT_NONE), 0);
	CU_ASSERT_EQUAL(share(p + 8, 16, &fd), 0);
	apir_procmem_release(p + 8, 16);
	apir_procmem_release(p, 2 * pg);
	CU_ASSERT_EQUAL(share(p + 8, 16, &fd), EFAULT);
	munmap(p, 2 * pg);
}

static void set_page_size(void)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
}

#define SHARE_TESTS                                                                      \
	{ "conversion keeps contents, zero copy, sealed", test_convert_keeps_contents_and_is_zero_copy }, \
	{ "overlapping registrations share pages", test_overlapping_registrations_share_pages }, \
	{ "small buffers sharing pages", test_small_buffers_sharing_pages },               \
	{ "converted pages are left alone", test_converted_pages_are_left_alone },         \
	{ "page protection is kept", test_protection_is_kept },                            \
	{ "remapped addresses take new contents", test_remapped_addresses_take_new_contents }, \
	{ "moved pages keep their contents", test_moved_pages_keep_their_contents },       \
	{ "moved pages register", test_moved_pages_register },                             \
	{ "bad ranges", test_bad_ranges },                                                 \
	{ "threads register overlapping ranges", test_threads_register_overlapping_ranges }, \
	{ "fork: the child has its own file", test_fork_child_has_its_own_file }

static CU_TestInfo query_tests[] = {
	{ "page size", set_page_size },
	SHARE_TESTS,
	CU_TEST_INFO_NULL,
};

static CU_TestInfo text_tests[] = {
	{ "switch to /proc/self/maps text", apir_procmem_use_maps_text },
	SHARE_TESTS,
	{ "live registrations are trusted", test_text_trusts_live_registrations },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "procmem (PROCMAP_QUERY)", query_tests },
	       { "procmem (/proc/self/maps)", text_tests })
