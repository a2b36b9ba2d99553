/* SPDX-License-Identifier: MIT */
/* The one logging facility of apir: levelled lines on stderr. */
#ifndef APIR_LOG_H
#define APIR_LOG_H

enum apir_log_level {
	APIR_LOG_ERROR = 0,
	APIR_LOG_WARN = 1,
	APIR_LOG_INFO = 2,
	APIR_LOG_DEBUG = 3,
};

/* Prefix for every line ("apird", "apir-verbs"). */
void apir_log_init(const char *component, enum apir_log_level level);
void apir_log_set_level(enum apir_log_level level);
enum apir_log_level apir_log_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int apir_log_parse_level(const char *s);

void apir_log(enum apir_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define apir_err(...)   apir_log(APIR_LOG_ERROR, __VA_ARGS__)
#define apir_warn(...)  apir_log(APIR_LOG_WARN, __VA_ARGS__)
#define apir_info(...)  apir_log(APIR_LOG_INFO, __VA_ARGS__)
#define apir_dbg(...)   do { if (apir_log_level() >= APIR_LOG_DEBUG) apir_log(APIR_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif /* APIR_LOG_H */
