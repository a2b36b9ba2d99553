/* SPDX-License-Identifier: MIT */
/* Guest memory of the virtio-serial transport, on this process (run as
 * root, as in CI, so pagemap shows frame numbers): extents cover exactly
 * the pages of a range, in order, coalesced; pages end up locked; areas are
 * page-aligned and zeroed; refusals. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apir/ring.h"
#include "guest_mem.h"
#include "unit.h"

#define PG APIR_PAGE_SIZE

/* Extents are page-granular, maximal (no two neighbours contiguous) and
 * sum to npages pages. */
static void check_extents(const struct apir_gpa_list *l, size_t npages)
{
	uint64_t total = 0;

	CU_ASSERT_FATAL(l->n >= 1 && l->n <= npages);
	for (size_t i = 0; i < l->n; i++) {
		CU_ASSERT(l->ext[i]->gpa % PG == 0 && l->ext[i]->len % PG == 0);
		CU_ASSERT(l->ext[i]->gpa != 0 && l->ext[i]->len != 0);
		if (i)
			CU_ASSERT(l->ext[i - 1]->gpa + l->ext[i - 1]->len != l->ext[i]->gpa);
		total += l->ext[i]->len;
	}
	CU_ASSERT(total == npages * PG);
}

/* The VmLck line of /proc/self/status, in kB. */
static long locked_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void test_area_alloc(void)
{
	size_t len = 16 * PG;
	long before = locked_kb();
	uint8_t *a = apir_guest_area_alloc(len);
	size_t zero = 0;

	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT((uintptr_t)a % PG == 0);
	for (size_t i = 0; i < len; i++)
		zero += a[i] == 0;
	CU_ASSERT(zero == len);
	CU_ASSERT(locked_kb() >= before + (long)(len / 1024));
	apir_guest_area_free(a, len);
}

static void test_translate_area(void)
{
	size_t npages = 64;
	void *a = apir_guest_area_alloc(npages * PG);
	struct apir_gpa_list l;

	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_FATAL(apir_gpa_translate(a, npages * PG, &l) == 0);
	check_extents(&l, npages);
	apir_gpa_list_free(&l);
	CU_ASSERT(l.ext == NULL && l.n == 0);
	apir_guest_area_free(a, npages * PG);
}

/* Area files of this process in /dev/shm. */
static int own_area_files(void)
{
	char prefix[64];
	struct dirent *e;
	DIR *dir = opendir("/dev/shm");
	int n = 0;

	snprintf(prefix, sizeof(prefix), "apir-area.%d.", (int)getpid());
	while (dir && (e = readdir(dir)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (dir)
		closedir(dir);
	return n;
}

/* Areas are tmpfs files, so that a dead process's pages stay out of other
 * processes' hands: the file lives as long as the area, and the next
 * process removes a dead one's files, never its own. */
static void test_area_files(void)
{
	const char *dead = "/dev/shm/apir-area.2147483646.0123456789abcdef";
	int before = own_area_files(), fd;
	void *a = apir_guest_area_alloc(2 * PG), *b = apir_guest_area_alloc(PG);

	CU_ASSERT_FATAL(a != NULL && b != NULL);
	CU_ASSERT_EQUAL(own_area_files(), before + 2);
	fd = open(dead, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	apir_guest_area_reap();
	CU_ASSERT_EQUAL(access(dead, F_OK), -1);
	CU_ASSERT_EQUAL(own_area_files(), before + 2);
	apir_guest_area_free(a, 2 * PG);
	CU_ASSERT_EQUAL(own_area_files(), before + 1);
	apir_guest_area_free(b, PG);
	CU_ASSERT_EQUAL(own_area_files(), before);
	apir_guest_area_free(NULL, PG);
}

/* An unaligned heap range: the extents cover every page it touches, and
 * pages the range shares with other data are translated the same way. */
static void test_translate_unaligned(void)
{
	uint8_t *buf = malloc(10 * PG);
	uint8_t *start = buf + 100;
	size_t len = 5 * PG + 7;
	size_t npages = ((uintptr_t)(start + len - 1) / PG) - ((uintptr_t)start / PG) + 1;
	struct apir_gpa_list l, one;

	CU_ASSERT_FATAL(buf != NULL);
	memset(buf, 1, 10 * PG);
	CU_ASSERT_FATAL(apir_gpa_translate(start, len, &l) == 0);
	check_extents(&l, npages);
	CU_ASSERT_FATAL(apir_gpa_translate(start, 1, &one) == 0);
	CU_ASSERT(one.n == 1 && one.ext[0]->len == PG && one.ext[0]->gpa == l.ext[0]->gpa);
	apir_gpa_list_free(&one);
	apir_gpa_list_free(&l);
	free(buf);
}

/* Physically contiguous pages merge: a transparent huge page, when the
 * kernel gives one, is one extent; either way the count never exceeds what
 * the distinct runs of frame numbers allow. */
static void test_coalesce_huge(void)
{
	size_t huge = 2u << 20;
	uint8_t *raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a = (uint8_t *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
	struct apir_gpa_list l;

	CU_ASSERT_FATAL(raw != MAP_FAILED);
	madvise(a, huge, MADV_HUGEPAGE);
	memset(a, 2, huge);
	CU_ASSERT_FATAL(apir_gpa_translate(a, huge, &l) == 0);
	check_extents(&l, huge / PG);
	printf(" [%zu extents for 2 MiB] ", l.n);
	apir_gpa_list_free(&l);
	munmap(raw, 2 * huge);
}

static void test_refusals(void)
{
	struct apir_gpa_list l;
	void *hole = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CU_ASSERT_FATAL(hole != MAP_FAILED);
	CU_ASSERT(apir_gpa_translate(hole, 0, &l) == EINVAL);
	munmap(hole, PG);
	CU_ASSERT(apir_gpa_translate(hole, PG, &l) == ENOMEM);   /* mlock: not mapped */
	CU_ASSERT(l.ext == NULL && l.n == 0);
}

static CU_TestInfo guest_mem_tests[] = {
	{ "area files in /dev/shm, reaped when their process is gone", test_area_files },
	{ "area: aligned, zeroed, locked", test_area_alloc },
	{ "translate an area", test_translate_area },
	{ "translate an unaligned range", test_translate_unaligned },
	{ "contiguous frames coalesce", test_coalesce_huge },
	{ "refusals", test_refusals },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "guest_mem", guest_mem_tests })
