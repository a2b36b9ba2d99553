/* SPDX-License-Identifier: MIT */
/*
 * A VM's RAM as apird sees it: the file QEMU keeps it in (memory-backend-file,
 * share=on) and the guest-physical layout of QEMU's i440fx machine. Every
 * guest-physical extent a guest names is translated here, and refused unless
 * all of it is RAM.
 */
#ifndef APIRD_GUEST_RAM_H
#define APIRD_GUEST_RAM_H

#include <stddef.h>
#include <stdint.h>

/* QEMU's pc machine: RAM below 3.5 GiB sits at GPA 0 entirely; a larger RAM
 * is split at 3 GiB and the rest starts at 4 GiB (pc_init1, gigabyte_align). */
#define APIRD_GUEST_SPLIT_THRESHOLD 0xe0000000ull
#define APIRD_GUEST_LOW_MAX 0xc0000000ull
#define APIRD_GUEST_HIGH_BASE 0x100000000ull
/* Extents of one object (a region's scattered pages); a frame bounds it too. */
#define APIRD_GUEST_EXTENTS_MAX 8192u

struct apird_guest_ram {
	int fd;                      /* the RAM file, O_RDWR; -1 when not open */
	uint64_t size;               /* bytes of RAM (the backend's size) */
	uint64_t low_size;           /* GPA [0, low_size) = file [0, low_size) */
	uint64_t high_size;          /* GPA [4 GiB, 4 GiB + high_size) = file [low_size, size) */
};

struct apird_gpa_extent {
	uint64_t gpa;
	uint64_t len;
};

/* Fills the layout of a RAM of size bytes (fd -1). */
void apird_guest_ram_layout(struct apird_guest_ram *r, uint64_t size);
/* Opens path as the RAM of a size-byte guest: a regular file (or hugetlbfs)
 * holding at least size bytes. Returns 0 or -errno with a reason in err. */
int apird_guest_ram_open(struct apird_guest_ram *r, const char *path, uint64_t size,
			 char *err, size_t err_len);
void apird_guest_ram_close(struct apird_guest_ram *r);
/* The file offset of [gpa, gpa + len): page aligned, not empty, all RAM in
 * one range. Returns 0 or -EINVAL with a reason in err. */
int apird_guest_ram_translate(const struct apird_guest_ram *r, uint64_t gpa, uint64_t len,
			      uint64_t *file_off, char *err, size_t err_len);
/* Checks n extents (1..APIRD_GUEST_EXTENTS_MAX, each translatable) and
 * returns their total length in *total. Returns 0 or -EINVAL with err. */
int apird_guest_ram_check(const struct apird_guest_ram *r, const struct apird_gpa_extent *ext,
			  size_t n, uint64_t *total, char *err, size_t err_len);
/* Maps the first len bytes of the extents (checked: total >= len, len a
 * multiple of the page size) at consecutive addresses of one apird view,
 * MAP_SHARED with prot. Returns 0 and *view (munmap(*view, len)) or -errno
 * with err. */
int apird_guest_ram_map(const struct apird_guest_ram *r, const struct apird_gpa_extent *ext,
			size_t n, size_t len, int prot, void **view, char *err, size_t err_len);

#endif /* APIRD_GUEST_RAM_H */
