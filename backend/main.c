/* SPDX-License-Identifier: MIT */
/* apird: the apir backend daemon. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apir/fabric_wire.h"
#include "apir/log.h"
#include "apir/wire.h"
#include "admin.h"
#include "apird.h"
#include "config.h"
#include "unix.h"
#include "util.h"
#include "verbs_service.h"
#include "vm.h"

/* What this apird serves, in order: the first service is the one a Hello
 * that names none gets (frontends from before services). */
static const struct apird_service_ops *const services[] = {
	&apird_verbs_service,
	&apird_admin_service,
};

/* Where frontends reach it: the control socket, and each VM's port. */
static const struct apird_listener_ops *const listeners[] = {
	&apird_unix_listener,
	&apird_vm_listener,
};

static const struct option long_options[] = {
	{ "socket", required_argument, NULL, 's' },
	{ "config", required_argument, NULL, 'c' },
	{ "log-level", required_argument, NULL, 'l' },
	{ "fabric-addr", required_argument, NULL, 'f' },
	{ "fabric-provider", required_argument, NULL, 'p' },
	{ "vm", required_argument, NULL, 'v' },
	{ "sched-priority", required_argument, NULL, 'P' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: apird [--socket PATH] [--config FILE] [--log-level LEVEL]\n"
		"             [--fabric-addr IP[:PORT]] [--fabric-provider NAME]\n"
		"             [--vm NAME,socket=PATH,ram=FILE,size=BYTES[,qmp=PATH]]...\n"
		"             [--sched-priority auto|N]\n"
		"\n"
		"  -s, --socket PATH      control socket (default %s)\n"
		"  -c, --config FILE      settings file: 'key = value' lines with keys\n"
		"                         socket, log_level, gid_ipv4, spin_us, sched_priority,\n"
		"                         device_name, engine, fabric_addr, fabric_provider, peer\n"
		"                         (IP:PORT, repeatable), vm (as --vm, repeatable)\n"
		"  -l, --log-level LEVEL  error, warn, info (default) or debug\n"
		"  -f, --fabric-addr IP[:PORT]\n"
		"                         reach QPs of other apirds through libfabric, listening\n"
		"                         on IP:PORT (default port %u); the port GID becomes\n"
		"                         ::ffff:IP. Off unless given.\n"
		"  -p, --fabric-provider NAME\n"
		"                         libfabric provider (default %s)\n"
		"  -v, --vm NAME,socket=PATH,ram=FILE,size=BYTES[,qmp=PATH]\n"
		"                         serve a QEMU guest over virtio-serial: QEMU connects to\n"
		"                         PATH; its RAM is the SIZE-byte file FILE (K/M/G suffixes);\n"
		"                         QEMU's monitor (QMP) connects to qmp=PATH, so that a\n"
		"                         guest process that dies is cleaned up at once.\n"
		"                         Repeatable.\n"
		"  -P, --sched-priority auto|N\n"
		"                         SCHED_FIFO priority 1..99 of apird's loop, 0 for normal\n"
		"                         scheduling; auto (default): priority 1 when apird sleeps\n"
		"                         as soon as it is idle (spin_us 0) and may use SCHED_FIFO\n"
		"  -h, --help             this text\n"
		"  -V, --version          print the version\n"
		"\n"
		"Command-line options override the config file.\n",
		APIR_DEFAULT_SOCKET, APIR_FAB_DEFAULT_PORT, APIRD_FABRIC_PROVIDER_DEFAULT);
}

/* The config file first, then the options, whatever their order. Returns
 * -1 to go on, or the exit status (after --help, --version, an error). */
static int parse_args(int argc, char **argv, struct apird_config *cfg)
{
	char err[256];
	int opt;

	apird_config_defaults(cfg);
	while ((opt = getopt_long(argc, argv, "s:c:l:f:p:v:P:hV", long_options, NULL)) != -1) {
		if (opt == 'c' && apird_config_load(cfg, optarg, err, sizeof(err))) {
			fprintf(stderr, "apird: %s\n", err);
			return 2;
		}
		if (opt == 'h') {
			usage(stdout);
			return 0;
		}
		if (opt == 'V') {
			printf("apird %s (protocol %u)\n", APIR_VERSION, APIR_PROTOCOL_VERSION);
			return 0;
		}
		if (opt == '?') {
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "apird: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	optind = 0;   /* GNU: rescan from the start */
	while ((opt = getopt_long(argc, argv, "s:c:l:f:p:v:P:hV", long_options, NULL)) != -1) {
		const char *key = opt == 's' ? "socket" : opt == 'l' ? "log_level" :
				  opt == 'f' ? "fabric_addr" : opt == 'p' ? "fabric_provider" :
				  opt == 'v' ? "vm" : opt == 'P' ? "sched_priority" : NULL;

		if (key && apird_config_set(cfg, key, optarg, err, sizeof(err))) {
			fprintf(stderr, "apird: %s\n", err);
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct apird_config cfg;
	struct apird d = { 0 };
	int rc = parse_args(argc, argv, &cfg);

	if (rc >= 0)
		return rc;
	apir_log_init("apird", cfg.log_level);
	rc = apird_daemon_init(&d, &cfg, services, APIRD_ARRAY_SIZE(services));
	if (rc) {
		apir_err("start-up: %s", strerror(-rc));
		return 1;
	}
	rc = apird_sched_apply(&cfg);
	if (rc) {
		apird_daemon_fini(&d);
		return 1;
	}
	rc = apird_loop_catch_signals(&d);
	if (!rc)
		rc = apird_listen(&d, listeners, APIRD_ARRAY_SIZE(listeners));
	if (rc) {
		apir_err("cannot listen: %s", strerror(-rc));
		apird_daemon_fini(&d);
		return 1;
	}
	rc = apird_loop_run(&d);
	if (rc)
		apir_err("event loop: %s", strerror(-rc));
	apird_daemon_fini(&d);
	apir_info("stopped");
	return rc ? 1 : 0;
}
