/* SPDX-License-Identifier: MIT */
/*
 * Just enough JSON for apirctl --json: nested objects and arrays of
 * strings, unsigned numbers and booleans, written as they come. key is
 * NULL for a value inside an array.
 */
#include <inttypes.h>

#include "ctl.h"

static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

static void json_key(struct ctl_json *j, const char *key)
{
	if (j->need_comma)
		fputc(',', j->out);
	j->need_comma = true;
	if (key) {
		json_string(j->out, key);
		fputc(':', j->out);
	}
}

void ctl_json_open(struct ctl_json *j, const char *key, char bracket)
{
	json_key(j, key);
	fputc(bracket, j->out);
	j->need_comma = false;
}

void ctl_json_close(struct ctl_json *j, char bracket)
{
	fputc(bracket, j->out);
	j->need_comma = true;
}

void ctl_json_str(struct ctl_json *j, const char *key, const char *value)
{
	json_key(j, key);
	json_string(j->out, value ? value : "");
}

void ctl_json_u64(struct ctl_json *j, const char *key, uint64_t value)
{
	json_key(j, key);
	fprintf(j->out, "%" PRIu64, value);
}

void ctl_json_bool(struct ctl_json *j, const char *key, bool value)
{
	json_key(j, key);
	fputs(value ? "true" : "false", j->out);
}

void ctl_json_null(struct ctl_json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->out);
}
