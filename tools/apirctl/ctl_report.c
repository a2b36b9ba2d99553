/* SPDX-License-Identifier: MIT */
/*
 * The views apirctl prints: the device summary, the sessions, the QPs with
 * their peers and counters. Tables for people (QPNs in hex, as
 * ibv_rc_pingpong and perftest print them), JSON for scripts (one object,
 * numbers as numbers).
 */
#include <inttypes.h>
#include <stdio.h>

#include "ctl.h"

#define GID_TEXT_LEN 46  /* INET6_ADDRSTRLEN */

/* ---- tables ------------------------------------------------------------- */

static int sessions_table(const struct ctl_status *st, FILE *out)
{
	static const char *const headers[] = {
		"ID", "CLIENT", "PID", "TRANSPORT", "PDS", "MRS", "MR_BYTES", "CQS", "QPS", "SRQS",
		"AHS", "CHANNELS",
	};
	struct ctl_table *t = ctl_table_new(headers, sizeof(headers) / sizeof(headers[0]));
	int rc = t ? 0 : -1;

	for (size_t i = 0; !rc && i < st->num_sessions; i++) {
		const Apir__SessionInfo *s = st->sessions[i];

		rc = ctl_table_row(t, "%" PRIu64 "\t%s\t%u\t%s\t%u\t%u\t%" PRIu64 "\t%u\t%u\t%u\t%u\t%u",
				   s->id, s->client_name, s->pid, s->transport, s->num_pds,
				   s->num_mrs, s->mr_bytes, s->num_cqs, s->num_qps, s->num_srqs,
				   s->num_ahs, s->num_comp_channels);
	}
	if (!rc)
		ctl_table_print(t, out);
	ctl_table_free(t);
	return rc;
}

/* Where the peer is: its session on this apird, or the other apird's
 * fabric address. */
static void peer_at(const Apir__QpInfo *q, char *buf, size_t len)
{
	if (q->peer_remote)
		snprintf(buf, len, "%s", q->peer_fabric_addr[0] ? q->peer_fabric_addr : "?");
	else if (q->peer_session_id)
		snprintf(buf, len, "session %" PRIu64, q->peer_session_id);
	else
		snprintf(buf, len, "(no such QP)");
}

static int qp_table_row(struct ctl_table *t, const Apir__QpInfo *q)
{
	char gid[GID_TEXT_LEN] = "-", at[64] = "-", peer_qpn[16] = "-";

	if (q->has_peer) {
		snprintf(peer_qpn, sizeof(peer_qpn), "0x%06x", q->peer_qp_num);
		ctl_gid_text(&q->peer_gid, gid, sizeof(gid));
		peer_at(q, at, sizeof(at));
	}
	return ctl_table_row(t, "0x%06x\t%s\t%s\t%" PRIu64 "\t%s\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64
			     "\t%" PRIu64 "\t%" PRIu64,
			     q->qp_num, ctl_qp_type_name(q->qp_type), ctl_qp_state_name(q->state),
			     q->session_id, peer_qpn, gid,
			     q->has_peer ? (q->peer_remote ? "remote" : "local") : "-", at,
			     q->bytes_sent, q->ops_sent, q->bytes_received, q->ops_received);
}

static int qps_table(const struct ctl_status *st, FILE *out)
{
	static const char *const headers[] = {
		"QPN", "TYPE", "STATE", "SESSION", "PEER_QPN", "PEER_GID", "PEER", "PEER_AT",
		"BYTES_SENT", "OPS_SENT", "BYTES_RECV", "OPS_RECV",
	};
	struct ctl_table *t = ctl_table_new(headers, sizeof(headers) / sizeof(headers[0]));
	int rc = t ? 0 : -1;

	for (size_t i = 0; !rc && i < st->num_qps; i++)
		rc = qp_table_row(t, st->qps[i]);
	if (!rc)
		ctl_table_print(t, out);
	ctl_table_free(t);
	return rc;
}

static void device_text(const Apir__DeviceSummary *d, FILE *out)
{
	char gid[GID_TEXT_LEN];

	ctl_gid_text(&d->gid, gid, sizeof(gid));
	fprintf(out, "apird %s: device %s, pid %u\n", d->version, d->device_name, d->pid);
	fprintf(out, "  GID       %s\n", gid);
	if (d->fabric_addr[0])
		fprintf(out, "  fabric    %s (%s)\n", d->fabric_addr, d->fabric_provider);
	else
		fprintf(out, "  fabric    off\n");
	fprintf(out, "  sessions  %u\n  QPs       %u\n", d->num_sessions, d->num_qps);
}

/* ---- JSON --------------------------------------------------------------- */

static void device_json(struct ctl_json *j, const Apir__DeviceSummary *d)
{
	char gid[GID_TEXT_LEN];

	ctl_gid_text(&d->gid, gid, sizeof(gid));
	ctl_json_open(j, "device", '{');
	ctl_json_str(j, "name", d->device_name);
	ctl_json_str(j, "version", d->version);
	ctl_json_u64(j, "pid", d->pid);
	ctl_json_str(j, "gid", gid);
	ctl_json_str(j, "fabric_addr", d->fabric_addr);
	ctl_json_str(j, "fabric_provider", d->fabric_provider);
	ctl_json_u64(j, "num_sessions", d->num_sessions);
	ctl_json_u64(j, "num_qps", d->num_qps);
	ctl_json_close(j, '}');
}

static void sessions_json(struct ctl_json *j, const struct ctl_status *st)
{
	ctl_json_open(j, "sessions", '[');
	for (size_t i = 0; i < st->num_sessions; i++) {
		const Apir__SessionInfo *s = st->sessions[i];

		ctl_json_open(j, NULL, '{');
		ctl_json_u64(j, "id", s->id);
		ctl_json_str(j, "client", s->client_name);
		ctl_json_u64(j, "pid", s->pid);
		ctl_json_str(j, "transport", s->transport);
		ctl_json_u64(j, "pds", s->num_pds);
		ctl_json_u64(j, "mrs", s->num_mrs);
		ctl_json_u64(j, "mr_bytes", s->mr_bytes);
		ctl_json_u64(j, "cqs", s->num_cqs);
		ctl_json_u64(j, "qps", s->num_qps);
		ctl_json_u64(j, "srqs", s->num_srqs);
		ctl_json_u64(j, "ahs", s->num_ahs);
		ctl_json_u64(j, "comp_channels", s->num_comp_channels);
		ctl_json_close(j, '}');
	}
	ctl_json_close(j, ']');
}

static void peer_json(struct ctl_json *j, const Apir__QpInfo *q)
{
	char gid[GID_TEXT_LEN];

	if (!q->has_peer) {
		ctl_json_null(j, "peer");
		return;
	}
	ctl_gid_text(&q->peer_gid, gid, sizeof(gid));
	ctl_json_open(j, "peer", '{');
	ctl_json_u64(j, "qpn", q->peer_qp_num);
	ctl_json_str(j, "gid", gid);
	ctl_json_bool(j, "remote", q->peer_remote);
	if (q->peer_remote) {
		ctl_json_str(j, "fabric_addr", q->peer_fabric_addr);
		ctl_json_u64(j, "requests_sent", q->fabric_requests_sent);
		ctl_json_u64(j, "rnr_naks", q->fabric_rnr_naks);
		ctl_json_u64(j, "naks_sent", q->fabric_naks_sent);
	} else if (q->peer_session_id)
		ctl_json_u64(j, "session", q->peer_session_id);
	else
		ctl_json_null(j, "session");
	ctl_json_close(j, '}');
}

static void qps_json(struct ctl_json *j, const struct ctl_status *st)
{
	ctl_json_open(j, "qps", '[');
	for (size_t i = 0; i < st->num_qps; i++) {
		const Apir__QpInfo *q = st->qps[i];

		ctl_json_open(j, NULL, '{');
		ctl_json_u64(j, "qpn", q->qp_num);
		ctl_json_str(j, "type", ctl_qp_type_name(q->qp_type));
		ctl_json_str(j, "state", ctl_qp_state_name(q->state));
		ctl_json_u64(j, "session", q->session_id);
		peer_json(j, q);
		ctl_json_u64(j, "bytes_sent", q->bytes_sent);
		ctl_json_u64(j, "ops_sent", q->ops_sent);
		ctl_json_u64(j, "bytes_received", q->bytes_received);
		ctl_json_u64(j, "ops_received", q->ops_received);
		ctl_json_close(j, '}');
	}
	ctl_json_close(j, ']');
}

/* ---- views -------------------------------------------------------------- */

enum view_part { PART_DEVICE = 1, PART_SESSIONS = 2, PART_QPS = 4 };

static void report_json(const struct ctl_status *st, unsigned int parts, FILE *out)
{
	struct ctl_json j = { .out = out };

	ctl_json_open(&j, NULL, '{');
	if (parts & PART_DEVICE)
		device_json(&j, st->device);
	if (parts & PART_SESSIONS)
		sessions_json(&j, st);
	if (parts & PART_QPS)
		qps_json(&j, st);
	ctl_json_close(&j, '}');
	fputc('\n', out);
}

int ctl_report_status(const struct ctl_status *st, bool json, FILE *out)
{
	if (json) {
		report_json(st, PART_DEVICE | PART_SESSIONS | PART_QPS, out);
		return 0;
	}
	device_text(st->device, out);
	fprintf(out, "\nSessions\n");
	if (sessions_table(st, out))
		return -1;
	fprintf(out, "\nQPs\n");
	return qps_table(st, out);
}

int ctl_report_sessions(const struct ctl_status *st, bool json, FILE *out)
{
	if (json) {
		report_json(st, PART_SESSIONS, out);
		return 0;
	}
	return sessions_table(st, out);
}

int ctl_report_qps(const struct ctl_status *st, bool json, FILE *out)
{
	if (json) {
		report_json(st, PART_QPS, out);
		return 0;
	}
	return qps_table(st, out);
}
