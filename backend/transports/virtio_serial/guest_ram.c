/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: layout, translation and views. A guest names its memory by
 * guest-physical extents; apird accepts one only if every byte of it is
 * RAM of that guest, and maps it from the RAM file, never from anything the
 * guest could name itself.
 */
#include "guest_ram.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/ring.h"

void apird_guest_ram_layout(struct apird_guest_ram *r, uint64_t size)
{
	r->fd = -1;
	r->size = size;
	r->low_size = size >= APIRD_GUEST_SPLIT_THRESHOLD ? APIRD_GUEST_LOW_MAX : size;
	r->high_size = size - r->low_size;
}

int apird_guest_ram_open(struct apird_guest_ram *r, const char *path, uint64_t size,
			 char *err, size_t err_len)
{
	struct stat st;
	int rc;

	apird_guest_ram_layout(r, size);
	r->fd = open(path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "RAM file %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(r->fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "RAM file %s is not a regular file", path);
		rc = -EINVAL;
	} else if ((uint64_t)st.st_size < size) {
		snprintf(err, err_len, "RAM file %s holds %lld bytes, the VM has %llu", path,
			 (long long)st.st_size, (unsigned long long)size);
		rc = -EINVAL;
	} else {
		return 0;
	}
	apird_guest_ram_close(r);
	return rc;
}

void apird_guest_ram_close(struct apird_guest_ram *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* [gpa, gpa + len) inside [base, base + size)? (no overflow: len <= size) */
static int inside(uint64_t gpa, uint64_t len, uint64_t base, uint64_t size)
{
	return gpa >= base && len <= size && gpa - base <= size - len;
}

int apird_guest_ram_translate(const struct apird_guest_ram *r, uint64_t gpa, uint64_t len,
			      uint64_t *file_off, char *err, size_t err_len)
{
	if (len == 0 || (gpa | len) & (APIR_PAGE_SIZE - 1)) {
		snprintf(err, err_len, "guest extent gpa 0x%llx len 0x%llx: not whole pages",
			 (unsigned long long)gpa, (unsigned long long)len);
		return -EINVAL;
	}
	if (inside(gpa, len, 0, r->low_size)) {
		*file_off = gpa;
		return 0;
	}
	if (inside(gpa, len, APIRD_GUEST_HIGH_BASE, r->high_size)) {
		*file_off = gpa - APIRD_GUEST_HIGH_BASE + r->low_size;
		return 0;
	}
	snprintf(err, err_len, "guest extent gpa 0x%llx len 0x%llx is not RAM of this VM",
		 (unsigned long long)gpa, (unsigned long long)len);
	return -EINVAL;
}

int apird_guest_ram_check(const struct apird_guest_ram *r, const struct apird_gpa_extent *ext,
			  size_t n, uint64_t *total, char *err, size_t err_len)
{
	uint64_t sum = 0, off;

	if (n == 0 || n > APIRD_GUEST_EXTENTS_MAX) {
		snprintf(err, err_len, "%zu guest extents: 1..%u expected", n, APIRD_GUEST_EXTENTS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		int rc = apird_guest_ram_translate(r, ext[i].gpa, ext[i].len, &off, err, err_len);

		if (rc)
			return rc;
		/* Each extent is within the RAM, so n of them cannot wrap. */
		sum += ext[i].len;
	}
	*total = sum;
	return 0;
}

/* Maps the consecutive pieces of the extents over the reserved view. */
static int map_extents(const struct apird_guest_ram *r, const struct apird_gpa_extent *ext,
		       size_t len, int prot, uint8_t *view)
{
	size_t done = 0;
	char unused[8];

	for (size_t i = 0; done < len; i++) {
		size_t piece = ext[i].len < len - done ? ext[i].len : len - done;
		uint64_t off;

		apird_guest_ram_translate(r, ext[i].gpa, ext[i].len, &off, unused, sizeof(unused));
		if (mmap(view + done, piece, prot, MAP_SHARED | MAP_FIXED, r->fd, (off_t)off) ==
		    MAP_FAILED)
			return -errno;
		done += piece;
	}
	return 0;
}

int apird_guest_ram_map(const struct apird_guest_ram *r, const struct apird_gpa_extent *ext,
			size_t n, size_t len, int prot, void **view, char *err, size_t err_len)
{
	uint64_t total;
	void *v;
	int rc = apird_guest_ram_check(r, ext, n, &total, err, err_len);

	if (rc)
		return rc;
	if (len == 0 || len & (APIR_PAGE_SIZE - 1) || total < len) {
		snprintf(err, err_len, "guest extents hold %llu bytes, %zu needed",
			 (unsigned long long)total, len);
		return -EINVAL;
	}
	/* Reserve the whole range first: the pieces land MAP_FIXED inside it
	 * and never over anything else of apird. */
	v = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v == MAP_FAILED) {
		rc = -errno;
		snprintf(err, err_len, "cannot reserve %zu bytes for a guest view", len);
		return rc;
	}
	rc = map_extents(r, ext, len, prot, v);
	if (rc) {
		munmap(v, len);
		snprintf(err, err_len, "cannot map guest RAM: %s", strerror(-rc));
		return rc;
	}
	*view = v;
	return 0;
}
