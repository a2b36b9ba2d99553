/* SPDX-License-Identifier: MIT */
/* apirctl's internal interface: fetching apird's status, and rendering it. */
#ifndef APIRCTL_CTL_H
#define APIRCTL_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "apir.pb-c.h"

/* apird's status, gathered from every page of AdminStatus. */
struct ctl_status {
	const Apir__DeviceSummary *device;  /* from the first page */
	const Apir__SessionInfo **sessions;
	size_t num_sessions, sessions_cap;
	const Apir__QpInfo **qps;
	size_t num_qps, qps_cap;
	Apir__Response **pages;             /* own everything above */
	size_t num_pages, pages_cap;
};

/* ctl_client.c: connects to apird's socket as an admin session and reads
 * every page. Returns 0, or -1 with a reason for the operator in err. */
int ctl_fetch_status(const char *socket_path, struct ctl_status *st, char *err, size_t err_len);
void ctl_status_free(struct ctl_status *st);

/* ctl_names.c: what verbs calls things. */
const char *ctl_qp_type_name(uint32_t type);
const char *ctl_qp_state_name(uint32_t state);
/* A 16-byte GID as ibv_devinfo prints it ("::ffff:10.0.0.1"), or "-". */
void ctl_gid_text(const ProtobufCBinaryData *gid, char *buf, size_t len);

/* ctl_table.c: columns aligned to their widest cell. */
struct ctl_table;
struct ctl_table *ctl_table_new(const char *const *headers, size_t num_cols);
/* Appends one row of num_cols printf-formatted cells, separated by '\t'
 * in fmt. Returns 0 or -1 (no memory). */
int ctl_table_row(struct ctl_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_table_print(const struct ctl_table *t, FILE *out);
void ctl_table_free(struct ctl_table *t);

/* ctl_json.c: a minimal JSON writer (objects, arrays, strings, numbers). */
struct ctl_json {
	FILE *out;
	bool need_comma;
};
void ctl_json_open(struct ctl_json *j, const char *key, char bracket);
void ctl_json_close(struct ctl_json *j, char bracket);
void ctl_json_str(struct ctl_json *j, const char *key, const char *value);
void ctl_json_u64(struct ctl_json *j, const char *key, uint64_t value);
void ctl_json_bool(struct ctl_json *j, const char *key, bool value);
void ctl_json_null(struct ctl_json *j, const char *key);

/* ctl_report.c: the three views, as tables or as JSON. */
int ctl_report_status(const struct ctl_status *st, bool json, FILE *out);
int ctl_report_sessions(const struct ctl_status *st, bool json, FILE *out);
int ctl_report_qps(const struct ctl_status *st, bool json, FILE *out);

#endif /* APIRCTL_CTL_H */
