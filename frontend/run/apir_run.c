/* SPDX-License-Identifier: MIT */
/*
 * apir-run: run an unmodified verbs application on apir.
 *
 *   apir-run [--socket PATH] [--profile mlx5|apir] [--] COMMAND [ARGS...]
 *
 * Puts the directory holding apir's drop-in libibverbs.so.1 first on
 * LD_LIBRARY_PATH, points the frontend at an apird (APIR_SOCKET), and execs
 * COMMAND. The dynamic linker then resolves libibverbs.so.1 to apir's library
 * instead of rdma-core's.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apir/wire.h"

#define VERBS_LIB_NAME "libibverbs.so.1"

/* Exit codes follow env(1): 125 for apir-run's own errors, 126 when
 * COMMAND cannot be run, 127 when it cannot be found. */
enum { EXIT_RUN_ERROR = 125, EXIT_CANNOT_RUN = 126, EXIT_NOT_FOUND = 127 };

struct run_options {
	const char *socket_path;   /* NULL: keep APIR_SOCKET or the default */
	const char *profile;       /* NULL: keep APIR_DEVICE_PROFILE */
	char **command;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: apir-run [--socket PATH] [--profile mlx5|apir] [--] COMMAND [ARGS...]\n"
		"\n"
		"Runs COMMAND with apir's libibverbs.so.1 first on LD_LIBRARY_PATH.\n"
		"  --socket PATH    apird control socket (sets APIR_SOCKET;\n"
		"                   default: $APIR_SOCKET, else %s)\n"
		"  --profile NAME   device identity the frontend reports:\n"
		"                   mlx5 = ConnectX-5 ids (perftest uses ibv_wr_*),\n"
		"                   apir = apir's own ids (perftest uses ibv_post_send)\n"
		"  APIR_LIB_DIR     environment override for the library directory\n",
		APIR_DEFAULT_SOCKET);
}

static int parse_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "profile", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	/* '+': stop at the first non-option so COMMAND's own options pass through. */
	while ((c = getopt_long(argc, argv, "+s:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket_path = optarg;
			break;
		case 'p':
			o->profile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "apir-run: no COMMAND given\n");
		usage(stderr);
		return -1;
	}
	if (o->profile && strcmp(o->profile, "mlx5") != 0 && strcmp(o->profile, "apir") != 0) {
		fprintf(stderr, "apir-run: unknown profile '%s' (expected mlx5 or apir)\n", o->profile);
		return -1;
	}
	o->command = &argv[optind];
	return 0;
}

static int dir_has_verbs_lib(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, VERBS_LIB_NAME) >= (int)sizeof(path))
		return 0;
	return access(path, R_OK) == 0;
}

/* The library sits beside apir-run's own bin directory: <prefix>/lib in a
 * build tree, <prefix>/lib/apir when installed (kept out of the default
 * search path so installing apir does not replace rdma-core system-wide). */
static int find_lib_dir(char *out, size_t len)
{
	static const char *const relative[] = { "../lib", "../lib/apir" };
	const char *override = getenv("APIR_LIB_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (override && *override) {
		if (!dir_has_verbs_lib(override)) {
			fprintf(stderr, "apir-run: APIR_LIB_DIR=%s has no %s\n", override, VERBS_LIB_NAME);
			return -1;
		}
		snprintf(out, len, "%s", override);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		fprintf(stderr, "apir-run: cannot locate own executable: %s\n", strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	const char *bin_dir = dirname(exe);
	for (size_t i = 0; i < sizeof(relative) / sizeof(relative[0]); i++) {
		char candidate[PATH_MAX];
		char resolved[PATH_MAX];

		snprintf(candidate, sizeof(candidate), "%s/%s", bin_dir, relative[i]);
		if (dir_has_verbs_lib(candidate) && realpath(candidate, resolved)) {
			snprintf(out, len, "%s", resolved);
			return 0;
		}
	}
	fprintf(stderr, "apir-run: %s not found in %s/../lib or %s/../lib/apir "
		"(build apir first, or set APIR_LIB_DIR)\n", VERBS_LIB_NAME, bin_dir, bin_dir);
	return -1;
}

static int prepend_library_path(const char *dir)
{
	const char *old = getenv("LD_LIBRARY_PATH");
	char *value;
	int rc;

	if (old && *old)
		rc = asprintf(&value, "%s:%s", dir, old);
	else
		rc = asprintf(&value, "%s", dir);
	if (rc < 0) {
		fprintf(stderr, "apir-run: out of memory\n");
		return -1;
	}
	rc = setenv("LD_LIBRARY_PATH", value, 1);
	free(value);
	return rc;
}

/* A missing socket is the most common mistake; say so before COMMAND
 * reports a device list that is merely empty. */
static int check_socket(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "apir-run: apird socket %s: %s (is apird running? "
			"start it with 'apird --socket %s' or pass --socket)\n",
			path, strerror(errno), path);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "apir-run: %s is not a socket\n", path);
		return -1;
	}
	return 0;
}

static int set_environment(const struct run_options *o, const char *lib_dir)
{
	const char *socket_path = o->socket_path;

	if (!socket_path)
		socket_path = getenv("APIR_SOCKET");
	if (!socket_path || !*socket_path)
		socket_path = APIR_DEFAULT_SOCKET;
	if (check_socket(socket_path) != 0)
		return -1;
	if (setenv("APIR_SOCKET", socket_path, 1) != 0)
		return -1;
	if (o->profile && strcmp(o->profile, "apir") == 0 && unsetenv("APIR_DEVICE_PROFILE") != 0)
		return -1;
	if (o->profile && strcmp(o->profile, "mlx5") == 0 &&
	    setenv("APIR_DEVICE_PROFILE", "mlx5", 1) != 0)
		return -1;
	return prepend_library_path(lib_dir);
}

int main(int argc, char **argv)
{
	struct run_options opts = { 0 };
	char lib_dir[PATH_MAX];

	if (parse_options(argc, argv, &opts) != 0)
		return EXIT_RUN_ERROR;
	if (find_lib_dir(lib_dir, sizeof(lib_dir)) != 0)
		return EXIT_RUN_ERROR;
	if (set_environment(&opts, lib_dir) != 0)
		return EXIT_RUN_ERROR;
	execvp(opts.command[0], opts.command);
	fprintf(stderr, "apir-run: cannot run %s: %s\n", opts.command[0], strerror(errno));
	return errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN;
}
