/* SPDX-License-Identifier: MIT */
/* libFuzzer target: apird's config file parser (apird_config_parse). */
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct apird_config cfg;
	char err[256] = "";
	char *text = malloc(size + 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	apird_config_defaults(&cfg);
	/* A refusal always says why. */
	if (apird_config_parse(&cfg, text, err, sizeof(err)) && !err[0])
		abort();
	free(text);
	return 0;
}
