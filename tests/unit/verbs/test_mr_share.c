/* SPDX-License-Identifier: MIT */
/* mr_share: converting registered pages to memfd-backed shared pages, and
 * the bookkeeping of live ranges (reuse, overlap, release). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "unit.h"

static size_t pg;

/* The /proc/self/maps line of the mapping holding addr. */
static int maps_line(const void *addr, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;
	int found = 0;

	while (f && !found && fgets(out, (int)size, f))
		found = sscanf(out, "%lx-%lx", &lo, &hi) == 2 && lo <= (uintptr_t)addr &&
			(uintptr_t)addr < hi;
	if (f)
		fclose(f);
	return found;
}

static uint8_t *map_pages(size_t n)
{
	uint8_t *p = mmap(NULL, n * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(p != MAP_FAILED);
	for (size_t i = 0; i < n * pg; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	return p;
}

static int pattern_intact(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(i * 7 + 3))
			return 0;
	return 1;
}

static void test_convert_keeps_contents_and_shares(void)
{
	uint8_t *p = map_pages(3);
	struct apir_shared_range *r;
	uint64_t off;
	char line[512];
	struct stat st;
	uint8_t byte;
	int fd;

	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p + 100, 5000, &fd, &off, &r), 0);
	CU_ASSERT_EQUAL(off, 100);
	CU_ASSERT(pattern_intact(p, 3 * pg));
	CU_ASSERT(maps_line(p, line, sizeof(line)) && strstr(line, "/memfd:apir-mr") && strstr(line, "rw-s"));
	CU_ASSERT(maps_line(p + 2 * pg, line, sizeof(line)) && !strstr(line, "memfd"));
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT_EQUAL((size_t)st.st_size, 2 * pg);
	CU_ASSERT_EQUAL(fcntl(fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW), F_SEAL_SHRINK | F_SEAL_GROW);
	/* the application's writes are in the memfd apird maps: zero copy */
	p[200] = 0xab;
	CU_ASSERT_EQUAL(pread(fd, &byte, 1, 200), 1);
	CU_ASSERT_EQUAL(byte, 0xab);
	apir_shared_range_release(r);
	munmap(p, 3 * pg);
}

static void test_inner_registration_reuses_range(void)
{
	uint8_t *p = map_pages(4);
	struct apir_shared_range *outer, *inner;
	uint64_t off1, off2;
	int fd1, fd2;

	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p, 4 * pg, &fd1, &off1, &outer), 0);
	p[pg + 10] = 0x5a;
	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p + pg + 10, 100, &fd2, &off2, &inner), 0);
	CU_ASSERT_PTR_EQUAL(inner, outer);
	CU_ASSERT_EQUAL(fd2, fd1);
	CU_ASSERT_EQUAL(off2, pg + 10);
	CU_ASSERT_EQUAL(p[pg + 10], 0x5a);   /* not converted a second time */
	apir_shared_range_release(inner);
	/* still live for the outer registration */
	CU_ASSERT_EQUAL(fcntl(fd1, F_GETFD) >= 0, 1);
	apir_shared_range_release(outer);
	munmap(p, 4 * pg);
}

static void test_partial_overlap_is_refused(void)
{
	uint8_t *p = map_pages(4);
	struct apir_shared_range *r, *r2;
	uint64_t off;
	int fd;

	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p + pg, pg, &fd, &off, &r), 0);
	CU_ASSERT_EQUAL(apir_shared_range_acquire(p + pg + 8, 2 * pg, &fd, &off, &r2), EINVAL);
	CU_ASSERT_EQUAL(apir_shared_range_acquire(p, 4 * pg, &fd, &off, &r2), EINVAL);
	/* disjoint neighbours are fine */
	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p + 2 * pg, pg, &fd, &off, &r2), 0);
	CU_ASSERT_PTR_NOT_EQUAL(r2, r);
	apir_shared_range_release(r2);
	apir_shared_range_release(r);
	munmap(p, 4 * pg);
}

static void test_released_pages_convert_again(void)
{
	uint8_t *p = map_pages(2);
	struct apir_shared_range *r;
	uint64_t off;
	int fd;

	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p, 2 * pg, &fd, &off, &r), 0);
	apir_shared_range_release(r);
	CU_ASSERT(pattern_intact(p, 2 * pg));
	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p, pg, &fd, &off, &r), 0);
	CU_ASSERT(pattern_intact(p, 2 * pg));
	apir_shared_range_release(r);
	munmap(p, 2 * pg);
}

static void test_protection_is_kept(void)
{
	uint8_t *p = map_pages(2);
	struct apir_shared_range *r;
	char line[512];
	uint64_t off;
	int fd;

	CU_ASSERT_EQUAL_FATAL(mprotect(p + pg, pg, PROT_READ), 0);
	CU_ASSERT_EQUAL_FATAL(apir_shared_range_acquire(p, 2 * pg, &fd, &off, &r), 0);
	CU_ASSERT(maps_line(p, line, sizeof(line)) && strstr(line, "rw-s"));
	CU_ASSERT(maps_line(p + pg, line, sizeof(line)) && strstr(line, "r--s"));
	CU_ASSERT(pattern_intact(p, 2 * pg));
	apir_shared_range_release(r);
	munmap(p, 2 * pg);
}

static void test_bad_ranges(void)
{
	uint8_t *p = map_pages(3), *shared;
	struct apir_shared_range *r;
	uint64_t off;
	int fd;

	CU_ASSERT_EQUAL(apir_shared_range_acquire(p, 0, &fd, &off, &r), EINVAL);
	CU_ASSERT_EQUAL(apir_shared_range_acquire(p, SIZE_MAX, &fd, &off, &r), EINVAL);
	munmap(p + pg, pg);   /* a hole */
	CU_ASSERT_EQUAL(apir_shared_range_acquire(p, 3 * pg, &fd, &off, &r), EFAULT);
	CU_ASSERT_EQUAL(mprotect(p, pg, PROT_NONE), 0);
	CU_ASSERT_EQUAL(apir_shared_range_acquire(p, pg, &fd, &off, &r), EFAULT);
	shared = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(shared != MAP_FAILED);
	CU_ASSERT_EQUAL(apir_shared_range_acquire(shared, pg, &fd, &off, &r), EOPNOTSUPP);
	munmap(shared, pg);
	munmap(p, pg);
	munmap(p + 2 * pg, pg);
}

static void set_page_size(void)
{
	pg = (size_t)sysconf(_SC_PAGESIZE);
}

static CU_TestInfo share_tests[] = {
	{ "page size", set_page_size },
	{ "conversion keeps contents and shares pages", test_convert_keeps_contents_and_shares },
	{ "inner registration reuses the live range", test_inner_registration_reuses_range },
	{ "partial overlap is refused", test_partial_overlap_is_refused },
	{ "released pages convert again", test_released_pages_convert_again },
	{ "page protection is kept", test_protection_is_kept },
	{ "bad ranges", test_bad_ranges },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "mr_share", share_tests })
