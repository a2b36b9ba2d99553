/* SPDX-License-Identifier: MIT */
/* Library constructor: logging, configured by APIR_LOG_LEVEL. */
#include <stdlib.h>

#include "core.h"

__attribute__((constructor)) static void apir_verbs_init(void)
{
	const char *s = getenv("APIR_LOG_LEVEL");
	int level = s && *s ? apir_log_parse_level(s) : APIR_LOG_WARN;

	apir_log_init("apir-verbs", level < 0 ? APIR_LOG_WARN : (enum apir_log_level)level);
	if (level < 0)
		apir_warn("APIR_LOG_LEVEL=%s unknown (error, warn, info, debug): using warn", s);
}
