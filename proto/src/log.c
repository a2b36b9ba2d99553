/* SPDX-License-Identifier: MIT */
#include "apir/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *log_component = "apir";
static enum apir_log_level log_level = APIR_LOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void apir_log_init(const char *component, enum apir_log_level level)
{
	log_component = component;
	log_level = level;
}

void apir_log_set_level(enum apir_log_level level)
{
	log_level = level;
}

enum apir_log_level apir_log_level(void)
{
	return log_level;
}

int apir_log_parse_level(const char *s)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void apir_log(enum apir_log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	va_list ap;
	int n;

	if (level > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%06ld %s %s: ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000, log_component, level_names[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One fputs per line so lines from several threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}
