/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: the i440fx layout (low RAM, the 3-4 GiB hole, RAM above
 * 4 GiB), translation of hostile extents (unaligned, empty, overflowing,
 * in the hole, past the end), and views of scattered extents over a real
 * RAM file (a memfd, reached by path as apird reaches QEMU's file).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_ram.h"
#include "unit.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)
#define PAGE 4096ull

static char err[256];

static int xlate(const struct apird_guest_ram *r, uint64_t gpa, uint64_t len, uint64_t *off)
{
	uint64_t unused;

	return apird_guest_ram_translate(r, gpa, len, off ? off : &unused, err, sizeof(err));
}

static void test_layout_small(void)
{
	struct apird_guest_ram r;
	uint64_t off;

	apird_guest_ram_layout(&r, 512 * MiB);
	CU_ASSERT_EQUAL(r.low_size, 512 * MiB);
	CU_ASSERT_EQUAL(r.high_size, 0);
	CU_ASSERT_EQUAL(xlate(&r, 0, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 0);
	CU_ASSERT_EQUAL(xlate(&r, 512 * MiB - PAGE, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 512 * MiB - PAGE);
	CU_ASSERT_EQUAL(xlate(&r, 0, 512 * MiB, &off), 0);
	/* One page past the end, and an extent straddling it. */
	CU_ASSERT_EQUAL(xlate(&r, 512 * MiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 512 * MiB - PAGE, 2 * PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not RAM"));
}

/* Below 3.5 GiB QEMU does not split: 3.25 GiB is all low RAM. */
static void test_layout_unsplit(void)
{
	struct apird_guest_ram r;
	uint64_t off;

	apird_guest_ram_layout(&r, 3 * GiB + 256 * MiB);
	CU_ASSERT_EQUAL(r.low_size, 3 * GiB + 256 * MiB);
	CU_ASSERT_EQUAL(r.high_size, 0);
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 3 * GiB);
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB + 256 * MiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB, PAGE, NULL), -EINVAL);
}

static void test_layout_split(void)
{
	struct apird_guest_ram r;
	uint64_t off;

	apird_guest_ram_layout(&r, 6 * GiB);
	CU_ASSERT_EQUAL(r.low_size, 3 * GiB);
	CU_ASSERT_EQUAL(r.high_size, 3 * GiB);
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB - PAGE, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 3 * GiB - PAGE);
	/* The hole between 3 and 4 GiB, at both edges, and extents crossing into it. */
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB - PAGE, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB - PAGE, 2 * PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB - PAGE, 2 * PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 0, 4 * GiB + PAGE, NULL), -EINVAL);
	/* High RAM: GPA 4 GiB is file offset 3 GiB. */
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 3 * GiB);
	CU_ASSERT_EQUAL(xlate(&r, 7 * GiB - PAGE, PAGE, &off), 0);
	CU_ASSERT_EQUAL(off, 6 * GiB - PAGE);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB, 3 * GiB, &off), 0);
	CU_ASSERT_EQUAL(xlate(&r, 7 * GiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 7 * GiB - PAGE, 2 * PAGE, NULL), -EINVAL);
}

/* Exactly 3.5 GiB splits (QEMU compares with >=). */
static void test_layout_threshold(void)
{
	struct apird_guest_ram r;

	apird_guest_ram_layout(&r, 3 * GiB + 512 * MiB);
	CU_ASSERT_EQUAL(r.low_size, 3 * GiB);
	CU_ASSERT_EQUAL(r.high_size, 512 * MiB);
	CU_ASSERT_EQUAL(xlate(&r, 3 * GiB, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB + 512 * MiB - PAGE, PAGE, NULL), 0);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB + 512 * MiB, PAGE, NULL), -EINVAL);
}

static void test_hostile_extents(void)
{
	struct apird_guest_ram r;

	apird_guest_ram_layout(&r, 6 * GiB);
	CU_ASSERT_EQUAL(xlate(&r, 0, 0, NULL), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "whole pages"));
	CU_ASSERT_EQUAL(xlate(&r, 1, PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, PAGE, PAGE + 1, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 0, 100, NULL), -EINVAL);
	/* gpa + len wraps around 2^64. */
	CU_ASSERT_EQUAL(xlate(&r, ~(PAGE - 1), PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, ~(PAGE - 1), 2 * PAGE, NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, 4 * GiB, ~(PAGE - 1), NULL), -EINVAL);
	CU_ASSERT_EQUAL(xlate(&r, PAGE, ~(PAGE - 1), NULL), -EINVAL);
}

static void test_check_counts(void)
{
	struct apird_guest_ram r;
	struct apird_gpa_extent ext[3] = {
		{ 0, PAGE }, { 4 * GiB, 2 * PAGE }, { 16 * PAGE, PAGE },
	};
	uint64_t total = 0;

	apird_guest_ram_layout(&r, 6 * GiB);
	CU_ASSERT_EQUAL(apird_guest_ram_check(&r, ext, 3, &total, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(total, 4 * PAGE);
	CU_ASSERT_EQUAL(apird_guest_ram_check(&r, ext, 0, &total, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_guest_ram_check(&r, ext, APIRD_GUEST_EXTENTS_MAX + 1, &total, err,
					      sizeof(err)), -EINVAL);
	ext[2].gpa = 3 * GiB;   /* one bad extent fails them all */
	CU_ASSERT_EQUAL(apird_guest_ram_check(&r, ext, 3, &total, err, sizeof(err)), -EINVAL);
}

/* A 4.5 GiB guest in a sparse memfd: scattered low and high pages appear
 * in order in one view, and writes through the view land in the file. */
static void test_view(void)
{
	struct apird_guest_ram r;
	struct apird_gpa_extent ext[3] = {
		{ 8 * PAGE, PAGE }, { 4 * GiB + 2 * PAGE, 2 * PAGE }, { 2 * PAGE, PAGE },
	};
	int memfd = memfd_create("guest-ram", MFD_CLOEXEC);
	uint8_t *view = NULL;
	char path[64], c;

	CU_ASSERT_FATAL(memfd >= 0);
	CU_ASSERT_FATAL(ftruncate(memfd, (off_t)(4 * GiB + 512 * MiB)) == 0);
	CU_ASSERT_FATAL(pwrite(memfd, "L", 1, 8 * PAGE) == 1);
	CU_ASSERT_FATAL(pwrite(memfd, "H", 1, 3 * GiB + 2 * PAGE) == 1);
	CU_ASSERT_FATAL(pwrite(memfd, "h", 1, 3 * GiB + 3 * PAGE) == 1);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	/* A RAM file smaller than the VM is refused. */
	CU_ASSERT_EQUAL(apird_guest_ram_open(&r, path, 8 * GiB, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(r.fd, -1);
	CU_ASSERT_FATAL(apird_guest_ram_open(&r, path, 4 * GiB + 512 * MiB, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(apird_guest_ram_map(&r, ext, 3, 4 * PAGE, PROT_READ | PROT_WRITE,
					    (void **)&view, err, sizeof(err)), 0);
	CU_ASSERT_FATAL(view != NULL);
	CU_ASSERT_EQUAL(view[0], 'L');
	CU_ASSERT_EQUAL(view[PAGE], 'H');
	CU_ASSERT_EQUAL(view[2 * PAGE], 'h');
	view[3 * PAGE + 5] = 'w';
	CU_ASSERT_EQUAL(pread(memfd, &c, 1, 2 * PAGE + 5), 1);
	CU_ASSERT_EQUAL(c, 'w');
	munmap(view, 4 * PAGE);
	/* A view may use a prefix of the extents, never more than they hold. */
	CU_ASSERT_EQUAL(apird_guest_ram_map(&r, ext, 3, 2 * PAGE, PROT_READ, (void **)&view, err,
					    sizeof(err)), 0);
	CU_ASSERT_EQUAL(view[PAGE], 'H');
	munmap(view, 2 * PAGE);
	CU_ASSERT_EQUAL(apird_guest_ram_map(&r, ext, 3, 5 * PAGE, PROT_READ, (void **)&view, err,
					    sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(apird_guest_ram_map(&r, ext, 3, PAGE + 1, PROT_READ, (void **)&view, err,
					    sizeof(err)), -EINVAL);
	ext[1].gpa = 5 * GiB + 512 * MiB;   /* past the end of high RAM */
	CU_ASSERT_EQUAL(apird_guest_ram_map(&r, ext, 3, PAGE, PROT_READ, (void **)&view, err,
					    sizeof(err)), -EINVAL);
	apird_guest_ram_close(&r);
	close(memfd);
}

static CU_TestInfo guest_ram_tests[] = {
	{ "layout below 3.5 GiB", test_layout_small },
	{ "3.25 GiB stays unsplit", test_layout_unsplit },
	{ "split layout: low, hole, high", test_layout_split },
	{ "split at exactly 3.5 GiB", test_layout_threshold },
	{ "hostile extents", test_hostile_extents },
	{ "extent lists", test_check_counts },
	{ "views over a RAM file", test_view },
	CU_TEST_INFO_NULL,
};

APIR_UNIT_MAIN({ "guest_ram", guest_ram_tests })
