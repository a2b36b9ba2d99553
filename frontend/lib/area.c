/* SPDX-License-Identifier: MIT */
/*
 * Objects with a shared area (a frontend's rings): their create calls,
 * whose memory the transport provides, and the checks made before trusting
 * a ring's layout.
 */
#include <errno.h>
#include <unistd.h>

#include "apir/log.h"
#include "conn.h"
#include "guest_mem.h"

int apir_rpc_create(struct apir_session *s, Apir__Request *req,
		    Apir__Response__BodyCase want, Apir__Response **resp,
		    struct apir_area *area, Apir__GpaExtent ***ring, size_t *n_ring)
{
	const struct apir_transport *t = s->conn.t;
	int fds[1];
	unsigned int nfds = 0;
	int rc;

	area->fd = -1;
	rc = t->area_prepare(area);
	if (rc)
		return rc;
	*ring = area->gpa.ext;
	*n_ring = area->gpa.n;
	rc = apir_rpc(s, req, NULL, 0, resp, fds, &nfds, t->ring_fds);
	if (rc) {
		t->area_discard(area);
		return rc;
	}
	rc = apir_reply_check(*resp, want);
	if (!rc && nfds != t->ring_fds) {
		apir_warn("apird sent %u fds with a create reply, expected %u", nfds, t->ring_fds);
		rc = EPROTO;
	}
	if (rc) {
		apir_close_fds(fds, nfds);
		apir__response__free_unpacked(*resp, NULL);
		*resp = NULL;
		t->area_discard(area);
		return rc;
	}
	area->fd = nfds ? fds[0] : -1;
	return 0;
}

void *apir_area_map(struct apir_session *s, struct apir_area *area,
		    uint64_t area_size, size_t expect)
{
	if (expect != area->len) {
		apir_warn("apird granted rings of %zu bytes, %zu were asked for", expect, area->len);
		apir_area_drop(s, area);
		errno = EPROTO;
		return NULL;
	}
	return s->conn.t->area_finish(area, area_size);
}

void apir_area_drop(struct apir_session *s, struct apir_area *area)
{
	if (area->fd >= 0)
		close(area->fd);
	area->fd = -1;
	s->conn.t->area_discard(area);
}

void apir_area_unmap(void *base, size_t len)
{
	apir_guest_area_free(base, len);
}

uint32_t apir_ring_pow2(uint32_t n)
{
	uint32_t e = 1;

	while (e < n && e < (1u << 31))
		e <<= 1;
	return e;
}

bool apir_ring_ctrl_ok(const struct apir_ring_ctrl *ring, uint32_t entries,
		       uint32_t entry_size)
{
	if (ring->num_entries == entries && (entries == 0 || ring->entry_size == entry_size))
		return true;
	apir_warn("ring header says %u entries of %u bytes, expected %u of %u",
		  ring->num_entries, ring->entry_size, entries, entry_size);
	return false;
}

bool apir_ring_entries_ok(uint32_t entries, uint32_t asked)
{
	if ((apir_is_pow2(entries) && entries >= asked) || (entries == 0 && asked == 0))
		return true;
	apir_warn("apird chose a ring of %u entries for %u requested", entries, asked);
	return false;
}
