/* SPDX-License-Identifier: MIT */
/*
 * Guest pages behind a virtio-serial session's session page, rings and
 * memory regions. The frontend allocated and pinned them and names them by
 * guest-physical extents; apird checks every extent against the VM's RAM
 * layout and maps the pieces at consecutive addresses of one view, so the
 * engine works on them exactly as on a memfd. A ring may not share a page
 * with another ring (or the session page) of its session: apird writes
 * rings, and one ring's writes must not land in another's indices.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "apir/array.h"
#include "apir/log.h"
#include "dispatch.h"
#include "vm.h"

/* The VM's RAM file, opened at the connection's first Hello: QEMU may
 * connect before it created the file, but not boot a guest without it. */
static int open_ram(struct apird_call *c, struct apird_vm_conn *conn)
{
	struct apird_vm *vm = conn->vm;
	char err[200];
	int rc;

	if (conn->ram.fd >= 0)
		return 0;
	rc = apird_guest_ram_open(&conn->ram, vm->cfg.ram_path, vm->cfg.ram_size, err, sizeof(err));
	if (rc) {
		if (!vm->ram_error_logged)
			apir_err("vm %s: %s", vm->cfg.name, err);
		vm->ram_error_logged = true;
		return apird_fail(c, ENODEV, "apird cannot map this VM's RAM: %s", err);
	}
	vm->ram_error_logged = false;
	return 0;
}

static bool extents_overlap(const struct apird_gpa_extent *a, const struct apird_gpa_extent *b)
{
	return a->gpa < b->gpa + b->len && b->gpa < a->gpa + a->len;
}

/* Whether a new ring's extents share a page with themselves or with a ring
 * the session has. */
static bool ring_overlaps(const struct apird_vm_conn *conn, const struct apird_gpa_extent *ext,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++)
			if (extents_overlap(&ext[i], &ext[j]))
				return true;
		for (size_t r = 0; r < conn->num_rings; r++)
			for (size_t k = 0; k < conn->rings[r].num_ext; k++)
				if (extents_overlap(&ext[i], &conn->rings[r].ext[k]))
					return true;
	}
	return false;
}

static int remember_ring(struct apird_vm_conn *conn, const void *area,
			 struct apird_gpa_extent *ext, size_t n)
{
	struct apird_vm_ring *p = apir_array_grow(conn->rings, &conn->rings_cap, conn->num_rings + 1,
						  sizeof(*p));

	if (!p)
		return -ENOMEM;
	conn->rings = p;
	conn->rings[conn->num_rings++] = (struct apird_vm_ring){ area, ext, n };
	return 0;
}

/* The extents as apird's structs, all of them checked against the RAM
 * layout, cut to their first len bytes (*n: how many that takes). */
static int take_extents(struct apird_call *c, Apir__GpaExtent *const *msg, size_t *n, size_t len,
			struct apird_gpa_extent **out)
{
	const struct apird_guest_ram *ram = &((struct apird_vm_conn *)c->s->conn)->ram;
	struct apird_gpa_extent *ext;
	uint64_t total = 0, left = len;
	size_t used = 0;
	char err[200];
	int rc;

	if (*n == 0 || *n > APIRD_GUEST_EXTENTS_MAX)
		return apird_fail(c, EINVAL, "%zu guest extents: 1..%u expected", *n,
				  APIRD_GUEST_EXTENTS_MAX);
	ext = calloc(*n, sizeof(*ext));
	if (!ext)
		return apird_fail(c, ENOMEM, "out of memory");
	for (size_t i = 0; i < *n; i++)
		ext[i] = (struct apird_gpa_extent){ msg[i]->gpa, msg[i]->len };
	rc = apird_guest_ram_check(ram, ext, *n, &total, err, sizeof(err));
	if (!rc && total < len) {
		snprintf(err, sizeof(err), "guest extents hold %llu bytes, %zu needed",
			 (unsigned long long)total, len);
		rc = -EINVAL;
	}
	if (rc) {
		free(ext);
		return apird_fail(c, EINVAL, "%s", err);
	}
	for (; left; used++) {
		if (ext[used].len > left)
			ext[used].len = left;
		left -= ext[used].len;
	}
	*n = used;
	*out = ext;
	return 0;
}

/* Maps len bytes of the guest pages msg names; a ring (is_ring) is
 * checked against the session's rings and remembered. */
static int map_guest(struct apird_call *c, Apir__GpaExtent *const *msg, size_t n, size_t len,
		     int prot, bool is_ring, void **view)
{
	struct apird_vm_conn *conn = c->s->conn;
	struct apird_gpa_extent *ext = NULL;
	char err[200];
	int rc = take_extents(c, msg, &n, len, &ext);

	if (rc)
		return rc;
	if (is_ring && ring_overlaps(conn, ext, n))
		rc = apird_fail(c, EINVAL, "the ring's guest pages overlap another ring of this "
				"session (or the session page, or themselves)");
	else if (apird_guest_ram_map(&conn->ram, ext, n, len, prot, view, err, sizeof(err)))
		rc = apird_fail(c, EINVAL, "%s", err);
	else if (is_ring && remember_ring(conn, *view, ext, n)) {
		munmap(*view, len);
		rc = apird_fail(c, ENOMEM, "out of memory");
	}
	if (rc || !is_ring)
		free(ext);
	return rc;
}

/* Hello: the session page is a guest page the frontend pinned and zeroed.
 * An operator's status session has no business on a guest's port. */
int apird_vm_hello(struct apird_call *c, const Apir__Hello *h, bool data_plane)
{
	void *page;
	int rc;

	if (!data_plane)
		return apird_fail(c, EPERM, "operator sessions use apird's control socket, not a VM's "
				  "port");
	rc = open_ram(c, c->s->conn);
	if (rc)
		return rc;
	if (h->n_session_page != 1 || h->session_page[0]->len != APIR_PAGE_SIZE)
		return apird_fail(c, EINVAL, "Hello.session_page must be one extent of %u bytes",
				  APIR_PAGE_SIZE);
	rc = map_guest(c, h->session_page, 1, APIR_PAGE_SIZE, PROT_READ | PROT_WRITE, true, &page);
	if (rc)
		return rc;
	memset(page, 0, sizeof(struct apir_session_page));
	c->s->page = page;
	return 0;
}

int apird_vm_area_open(struct apird_call *c, const char *name, size_t len,
		       const struct apird_mem_ref *ref, void **area)
{
	int rc = map_guest(c, ref->ext, ref->n_ext, len, PROT_READ | PROT_WRITE, true, area);

	(void)name;
	/* The control lines start zeroed whatever the guest left there. */
	if (!rc)
		memset(*area, 0, APIR_PAGE_SIZE);
	return rc;
}

void apird_vm_area_close(struct apird_session *s, void *area, size_t len)
{
	struct apird_vm_conn *conn = s->conn;

	for (size_t i = 0; conn && i < conn->num_rings; i++) {
		if (conn->rings[i].area != area)
			continue;
		free(conn->rings[i].ext);
		conn->rings[i] = conn->rings[--conn->num_rings];
		break;
	}
	munmap(area, len);
}

/* [offset, offset + len) of the guest pages ref names; offset lies in the
 * first extent. */
int apird_vm_mem_map(struct apird_call *c, const struct apird_mem_ref *ref, uint64_t len,
		     int prot, struct apird_mem_map *m)
{
	struct apird_vm_conn *conn = c->s->conn;
	void *view;
	size_t map_len;
	int rc;

	if (ref->n_ext == 0 || ref->offset >= ref->ext[0]->len)
		return apird_fail(c, EINVAL, "offset %llu is not inside the first of %zu guest "
				  "extents", (unsigned long long)ref->offset, ref->n_ext);
	if (ref->offset + len > conn->ram.size)
		return apird_fail(c, EINVAL, "%llu bytes do not fit in this VM's RAM",
				  (unsigned long long)len);
	map_len = apir_align_up(ref->offset + len, APIR_PAGE_SIZE);
	rc = map_guest(c, ref->ext, ref->n_ext, map_len, prot, false, &view);
	if (rc)
		return rc;
	m->map = view;
	m->len = map_len;
	m->base = (uint8_t *)view + ref->offset;
	return 0;
}
