/* SPDX-License-Identifier: MIT */
/*
 * apirctl: what a running apird is serving, for operators.
 *
 *   apirctl [--socket PATH] [--json] status|sessions|qps
 *
 * Connects to apird's control socket as an admin session (no data-plane
 * fds, no objects), reads the status and prints it as tables or as JSON.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/wire.h"
#include "ctl.h"

/* Exit codes: 1 when apird cannot be asked (not running, refused), 2 for
 * a command line apirctl does not understand. */
enum { EXIT_UNREACHABLE = 1, EXIT_USAGE = 2 };

struct command {
	const char *name;
	int (*report)(const struct ctl_status *st, bool json, FILE *out);
	const char *help;
};

static const struct command commands[] = {
	{ "status", ctl_report_status, "device summary, sessions and QPs" },
	{ "sessions", ctl_report_sessions, "sessions: client, pid, transport, object counts" },
	{ "qps", ctl_report_qps, "QPs: type, state, session, peer, byte and op counters" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: apirctl [--socket PATH] [--json] COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out,
		"\noptions:\n"
		"  --socket PATH  apird's control socket (default: $APIR_SOCKET, else %s)\n"
		"  --json         one JSON object instead of tables\n",
		APIR_DEFAULT_SOCKET);
}

static const struct command *command_named(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

struct options {
	const char *socket_path;
	bool json;
	const struct command *command;
};

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "s:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket_path = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "apirctl: %s\n", optind >= argc ? "no command given" : "one command only");
		return -1;
	}
	o->command = command_named(argv[optind]);
	if (!o->command) {
		fprintf(stderr, "apirctl: unknown command '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .socket_path = getenv("APIR_SOCKET") };
	struct ctl_status st;
	char err[512];
	int rc;

	if (parse_options(argc, argv, &o)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o.socket_path || !*o.socket_path)
		o.socket_path = APIR_DEFAULT_SOCKET;
	if (ctl_fetch_status(o.socket_path, &st, err, sizeof(err))) {
		fprintf(stderr, "apirctl: %s\n", err);
		return EXIT_UNREACHABLE;
	}
	rc = o.command->report(&st, o.json, stdout);
	ctl_status_free(&st);
	if (rc || fflush(stdout)) {
		fprintf(stderr, "apirctl: cannot write the report\n");
		return EXIT_FAILURE;
	}
	return 0;
}
