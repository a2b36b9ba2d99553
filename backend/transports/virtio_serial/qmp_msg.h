/* SPDX-License-Identifier: MIT */
/*
 * One QMP message (a line of JSON from QEMU's monitor), reduced to what
 * apird acts on: the greeting; replies to its commands (their "id", a
 * string result, and in a query-chardev result the "frontend-open" of one
 * chardev); and the VSERPORT_CHANGE event, which says that a guest process
 * opened or closed a virtio-serial port. Pure parsing, no I/O (vm_qmp.c
 * does the socket).
 */
#ifndef APIRD_QMP_MSG_H
#define APIRD_QMP_MSG_H

#include <stddef.h>

#define APIRD_QMP_NAME_MAX 64

enum apird_qmp_kind {
	APIRD_QMP_INVALID,   /* not a JSON object, or malformed */
	APIRD_QMP_GREETING,  /* {"QMP": {...}} */
	APIRD_QMP_RETURN,    /* {"return": ..., "id": ...} */
	APIRD_QMP_ERROR,     /* {"error": {...}, "id": ...} */
	APIRD_QMP_EVENT,     /* {"event": "NAME", "data": {...}, ...} */
	APIRD_QMP_OTHER,     /* a well-formed object of none of these shapes */
};

struct apird_qmp_msg {
	enum apird_qmp_kind kind;
	char id[APIRD_QMP_NAME_MAX];     /* a reply's "id" (a string), or "" */
	char event[APIRD_QMP_NAME_MAX];  /* APIRD_QMP_EVENT: its name */
	/* data.id and data.open, where present (VSERPORT_CHANGE has both):
	 * id "" and open -1 when absent or of another type. */
	char data_id[APIRD_QMP_NAME_MAX];
	int data_open;
	char return_str[APIRD_QMP_NAME_MAX];  /* "return" when it is a string */
	/* "return" as query-chardev's array: "frontend-open" of the element
	 * whose "label" is the label asked for; -1 when there is none. */
	int chardev_open;
};

/* Parses one message of len bytes (no NUL needed; a trailing "\r\n" is
 * fine). label (may be NULL) is the chardev whose frontend-open to find.
 * Strings apird keeps that are longer than the fields above make the
 * message invalid, as does nesting deeper than 32 levels. Returns m->kind. */
enum apird_qmp_kind apird_qmp_parse(const char *text, size_t len, const char *label,
				    struct apird_qmp_msg *m);

#endif /* APIRD_QMP_MSG_H */
