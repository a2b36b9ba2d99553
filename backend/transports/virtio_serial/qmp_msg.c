/* SPDX-License-Identifier: MIT */
/*
 * A strict JSON reader for QMP messages, just big enough for them: it
 * walks the whole value (so a malformed line is rejected, not half-read)
 * and keeps only the few members apird acts on. QEMU is not the guest,
 * but what it relays (a device id) is, and nothing here trusts lengths or
 * nesting.
 */
#include <stdbool.h>
#include <string.h>

#include "qmp_msg.h"

#define MAX_DEPTH 32

struct cursor {
	const char *p, *end;
	int depth;
};

/* Consumes the value at the cursor, whatever it is. */
static bool skip_value(struct cursor *c);

/* A member's value (or an array's element, key NULL): the handler
 * consumes it (or skips it). */
typedef bool (*member_fn)(struct cursor *c, const char *key, void *ctx);

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

static bool take(struct cursor *c, char ch)
{
	skip_ws(c);
	if (c->p == c->end || *c->p != ch)
		return false;
	c->p++;
	return true;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* One escape after the backslash; *out gets the character (non-ASCII
 * \u escapes become '?': no name apird compares has them). */
static bool unescape(struct cursor *c, char *out)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	unsigned int code = 0;

	if (c->p == c->end)
		return false;
	hit = strchr(from, *c->p);
	if (*c->p && hit) {
		*out = to[hit - from];
		c->p++;
		return true;
	}
	if (*c->p != 'u' || c->end - c->p < 5)
		return false;
	for (int i = 1; i <= 4; i++) {
		int d = hex_digit(c->p[i]);

		if (d < 0)
			return false;
		code = code << 4 | (unsigned int)d;
	}
	c->p += 5;
	*out = code && code < 0x80 ? (char)code : '?';
	return true;
}

/* A string into out (cap bytes with the NUL; out may be NULL to skip it).
 * *fits is false when it was longer than cap - 1 (out holds a prefix). */
static bool read_string(struct cursor *c, char *out, size_t cap, bool *fits)
{
	size_t n = 0;

	*fits = true;
	if (!take(c, '"'))
		return false;
	while (c->p < c->end && *c->p != '"') {
		char ch = *c->p++;

		if ((unsigned char)ch < 0x20)
			return false;
		if (ch == '\\' && !unescape(c, &ch))
			return false;
		if (out && n + 1 < cap)
			out[n++] = ch;
		else if (out)
			*fits = false;
	}
	if (out && cap)
		out[n] = '\0';
	return take(c, '"');
}

static bool skip_literal(struct cursor *c, const char *word)
{
	size_t len = strlen(word);

	if ((size_t)(c->end - c->p) < len || memcmp(c->p, word, len))
		return false;
	c->p += len;
	return true;
}

static bool skip_digits(struct cursor *c)
{
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

static bool skip_number(struct cursor *c)
{
	if (c->p < c->end && *c->p == '-')
		c->p++;
	if (!skip_digits(c))
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!skip_digits(c))
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!skip_digits(c))
			return false;
	}
	return true;
}

static bool skip_member(struct cursor *c, const char *key, void *ctx)
{
	(void)key;
	(void)ctx;
	return skip_value(c);
}

/* Walks an object, handing each member to fn. Keys longer than a name
 * field are no key apird knows: they reach fn as "". */
static bool read_object(struct cursor *c, member_fn fn, void *ctx)
{
	char key[APIRD_QMP_NAME_MAX];
	bool fits;

	if (!take(c, '{') || ++c->depth > MAX_DEPTH)
		return false;
	if (take(c, '}')) {
		c->depth--;
		return true;
	}
	do {
		if (!read_string(c, key, sizeof(key), &fits) || !take(c, ':'))
			return false;
		if (!fits)
			key[0] = '\0';
		skip_ws(c);
		if (!fn(c, key, ctx))
			return false;
	} while (take(c, ','));
	c->depth--;
	return take(c, '}');
}

/* Walks an array, handing each element to fn (key NULL). */
static bool read_array(struct cursor *c, member_fn fn, void *ctx)
{
	if (!take(c, '[') || ++c->depth > MAX_DEPTH)
		return false;
	if (take(c, ']')) {
		c->depth--;
		return true;
	}
	do {
		skip_ws(c);
		if (!fn(c, NULL, ctx))
			return false;
	} while (take(c, ','));
	c->depth--;
	return take(c, ']');
}

static bool skip_value(struct cursor *c)
{
	bool fits;

	skip_ws(c);
	if (c->p == c->end)
		return false;
	switch (*c->p) {
	case '{':
		return read_object(c, skip_member, NULL);
	case '[':
		return read_array(c, skip_member, NULL);
	case '"':
		return read_string(c, NULL, 0, &fits);
	case 't':
		return skip_literal(c, "true");
	case 'f':
		return skip_literal(c, "false");
	case 'n':
		return skip_literal(c, "null");
	default:
		return skip_number(c);
	}
}

/* A string member that must fit its field entirely. */
static bool read_name(struct cursor *c, char *out, size_t cap)
{
	bool fits;

	if (c->p < c->end && *c->p != '"')
		return skip_value(c);   /* another type: the field stays "" */
	return read_string(c, out, cap, &fits) && fits;
}

/* true/false into *out (1/0); any other value is skipped, *out kept. */
static bool read_bool(struct cursor *c, int *out)
{
	if (skip_literal(c, "true")) {
		*out = 1;
		return true;
	}
	if (skip_literal(c, "false")) {
		*out = 0;
		return true;
	}
	return skip_value(c);
}

static bool data_member(struct cursor *c, const char *key, void *ctx)
{
	struct apird_qmp_msg *m = ctx;

	if (!strcmp(key, "id"))
		return read_name(c, m->data_id, sizeof(m->data_id));
	if (!strcmp(key, "open"))
		return read_bool(c, &m->data_open);
	return skip_value(c);
}

/* One element of query-chardev's result: {"label": L, "frontend-open": B,
 * "filename": F}, members in any order. Labels longer than a name cannot
 * be the one asked for. */
struct chardev {
	char label[APIRD_QMP_NAME_MAX];
	bool label_fits;
	int open;
};

static bool chardev_member(struct cursor *c, const char *key, void *ctx)
{
	struct chardev *ch = ctx;

	if (!strcmp(key, "label") && c->p < c->end && *c->p == '"')
		return read_string(c, ch->label, sizeof(ch->label), &ch->label_fits);
	if (!strcmp(key, "frontend-open"))
		return read_bool(c, &ch->open);
	return skip_value(c);
}

struct top {
	struct apird_qmp_msg *m;
	const char *label;
	bool greeting, ret, error, event;
};

static bool chardev_element(struct cursor *c, const char *key, void *ctx)
{
	struct top *t = ctx;
	struct chardev ch = { .open = -1 };

	(void)key;
	if (c->p == c->end || *c->p != '{')
		return skip_value(c);
	if (!read_object(c, chardev_member, &ch))
		return false;
	if (t->label && ch.label_fits && !strcmp(ch.label, t->label))
		t->m->chardev_open = ch.open;
	return true;
}

static bool read_return(struct cursor *c, struct top *t)
{
	t->ret = true;
	if (c->p < c->end && *c->p == '"')
		return read_name(c, t->m->return_str, sizeof(t->m->return_str));
	if (c->p < c->end && *c->p == '[')
		return read_array(c, chardev_element, t);
	return skip_value(c);
}

/* Top-level members; the kind is decided after the whole object. */
static bool top_member(struct cursor *c, const char *key, void *ctx)
{
	struct top *t = ctx;

	if (!strcmp(key, "event")) {
		t->event = c->p < c->end && *c->p == '"';
		return read_name(c, t->m->event, sizeof(t->m->event));
	}
	if (!strcmp(key, "id"))
		return read_name(c, t->m->id, sizeof(t->m->id));
	if (!strcmp(key, "data") && c->p < c->end && *c->p == '{')
		return read_object(c, data_member, t->m);
	if (!strcmp(key, "return"))
		return read_return(c, t);
	t->greeting |= !strcmp(key, "QMP");
	t->error |= !strcmp(key, "error");
	return skip_value(c);
}

static enum apird_qmp_kind kind_of(const struct top *t)
{
	if (t->event)
		return APIRD_QMP_EVENT;
	if (t->ret)
		return APIRD_QMP_RETURN;
	if (t->error)
		return APIRD_QMP_ERROR;
	return t->greeting ? APIRD_QMP_GREETING : APIRD_QMP_OTHER;
}

static void clear(struct apird_qmp_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->kind = APIRD_QMP_INVALID;
	m->data_open = -1;
	m->chardev_open = -1;
}

enum apird_qmp_kind apird_qmp_parse(const char *text, size_t len, const char *label,
				    struct apird_qmp_msg *m)
{
	struct cursor c = { .p = text, .end = text + len };
	struct top t = { .m = m, .label = label };
	bool ok;

	clear(m);
	ok = read_object(&c, top_member, &t);
	skip_ws(&c);
	if (!ok || c.p != c.end) {
		clear(m);
		return APIRD_QMP_INVALID;
	}
	return m->kind = kind_of(&t);
}
