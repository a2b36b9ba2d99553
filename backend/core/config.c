/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apir/fabric_wire.h"
#include "apir/wire.h"

#define CONFIG_FILE_MAX (64u * 1024u)

/* Spinning only pays when apird has a core of its own: the two ends of a
 * latency test both busy-poll, so with fewer than three CPUs apird's spin
 * takes the core the next poster needs and a round trip costs the whole spin
 * budget (measured: 50 us spin -> 53 us ib_write_lat on 2 cores, 0 -> 4 us). */
uint32_t apird_default_spin_us(long online_cpus)
{
	return online_cpus >= 3 ? APIRD_SPIN_US_DEFAULT : 0;
}

void apird_config_defaults(struct apird_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", APIR_DEFAULT_SOCKET);
	cfg->log_level = APIR_LOG_INFO;
	cfg->gid_ipv4.s_addr = htonl(INADDR_LOOPBACK);
	cfg->spin_us = apird_default_spin_us(sysconf(_SC_NPROCESSORS_ONLN));
	cfg->sched_priority = APIRD_SCHED_PRIORITY_AUTO;
	cfg->session_ring_mib = APIRD_SESSION_RING_MIB_DEFAULT;
	snprintf(cfg->device_name, sizeof(cfg->device_name), "apir0");
	snprintf(cfg->engine, sizeof(cfg->engine), "sw");
	cfg->fabric_port = APIR_FAB_DEFAULT_PORT;
	snprintf(cfg->fabric_provider, sizeof(cfg->fabric_provider), "%s",
		 APIRD_FABRIC_PROVIDER_DEFAULT);
}

static int set_socket(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	if (!*v || strlen(v) >= sizeof(cfg->socket_path)) {
		snprintf(err, err_len, "socket: path must be 1..%zu bytes",
			 sizeof(cfg->socket_path) - 1);
		return -EINVAL;
	}
	snprintf(cfg->socket_path, sizeof(cfg->socket_path), "%s", v);
	return 0;
}

static int set_log_level(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	int level = apir_log_parse_level(v);

	if (level < 0) {
		snprintf(err, err_len, "log_level: '%s' is not error, warn, info or debug", v);
		return -EINVAL;
	}
	cfg->log_level = (enum apir_log_level)level;
	return 0;
}

static int set_gid_ipv4(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	struct in_addr a;

	if (inet_pton(AF_INET, v, &a) != 1) {
		snprintf(err, err_len, "gid_ipv4: '%s' is not a dotted IPv4 address", v);
		return -EINVAL;
	}
	cfg->gid_ipv4 = a;
	return 0;
}

/* A decimal integer in 0..max, nothing else. */
static bool parse_uint(const char *v, unsigned long max, unsigned long *n)
{
	char *end;

	errno = 0;
	*n = strtoul(v, &end, 10);
	return isdigit((unsigned char)*v) && !*end && !errno && *n <= max;
}

static int set_spin_us(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	unsigned long n;

	if (!parse_uint(v, APIRD_SPIN_US_MAX, &n)) {
		snprintf(err, err_len, "spin_us: '%s' is not an integer in 0..%u", v, APIRD_SPIN_US_MAX);
		return -EINVAL;
	}
	cfg->spin_us = (uint32_t)n;
	return 0;
}

static int set_sched_priority(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	unsigned long n;

	if (strcmp(v, "auto") == 0) {
		cfg->sched_priority = APIRD_SCHED_PRIORITY_AUTO;
	cfg->session_ring_mib = APIRD_SESSION_RING_MIB_DEFAULT;
		return 0;
	}
	if (!parse_uint(v, APIRD_SCHED_PRIORITY_MAX, &n)) {
		snprintf(err, err_len, "sched_priority: '%s' is not auto or an integer in 0..%u", v,
			 APIRD_SCHED_PRIORITY_MAX);
		return -EINVAL;
	}
	cfg->sched_priority = (int)n;
	return 0;
}

static int set_session_ring_mib(struct apird_config *cfg, const char *v, char *err,
				size_t err_len)
{
	unsigned long n;

	if (!parse_uint(v, APIRD_SESSION_RING_MIB_MAX, &n) || n == 0) {
		snprintf(err, err_len, "session_ring_mib: '%s' is not an integer in 1..%u", v,
			 APIRD_SESSION_RING_MIB_MAX);
		return -EINVAL;
	}
	cfg->session_ring_mib = (uint32_t)n;
	return 0;
}

/* Device names appear in paths and logs: keep them to a safe alphabet. */
static int set_device_name(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(cfg->device_name))
		goto bad;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			goto bad;
	memcpy(cfg->device_name, v, len + 1);
	return 0;
bad:
	snprintf(err, err_len, "device_name: '%s' must be 1..%zu of [A-Za-z0-9_-]", v,
		 sizeof(cfg->device_name) - 1);
	return -EINVAL;
}

/* The engine is checked against those built in when the verbs service
 * starts; here only its shape. */
static int set_engine(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(cfg->engine)) {
		snprintf(err, err_len, "engine: '%s' must be 1..%zu characters", v,
			 sizeof(cfg->engine) - 1);
		return -EINVAL;
	}
	memcpy(cfg->engine, v, len + 1);
	return 0;
}

/* "IP" or "IP:PORT" (port 1..65535; *port untouched without one).
 * Returns whether a port was given, or -1 if v is malformed. */
static int parse_ip_port(const char *v, struct in_addr *ip, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strchr(v, ':');
	size_t host_len = colon ? (size_t)(colon - v) : strlen(v);
	unsigned long n;
	char *end;

	if (host_len == 0 || host_len >= sizeof(host))
		return -1;
	memcpy(host, v, host_len);
	host[host_len] = '\0';
	if (inet_pton(AF_INET, host, ip) != 1)
		return -1;
	if (!colon)
		return 0;
	errno = 0;
	n = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || n == 0 || n > 65535)
		return -1;
	*port = (uint16_t)n;
	return 1;
}

static int set_fabric_addr(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	struct in_addr ip;
	uint16_t port = APIR_FAB_DEFAULT_PORT;

	if (parse_ip_port(v, &ip, &port) < 0 || ip.s_addr == htonl(INADDR_ANY)) {
		snprintf(err, err_len, "fabric_addr: '%s' is not IPv4[:PORT] (a specific address, "
			 "port 1..65535)", v);
		return -EINVAL;
	}
	cfg->fabric_enabled = true;
	cfg->fabric_ip = ip;
	cfg->fabric_port = port;
	return 0;
}

/* libfabric provider names: letters, digits, '_', ';' (layered), '-'. */
static int set_fabric_provider(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(cfg->fabric_provider))
		goto bad;
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_;-", *p))
			goto bad;
	memcpy(cfg->fabric_provider, v, len + 1);
	return 0;
bad:
	snprintf(err, err_len, "fabric_provider: '%s' must be 1..%zu of [A-Za-z0-9_;-]", v,
		 sizeof(cfg->fabric_provider) - 1);
	return -EINVAL;
}

/* "peer = IP:PORT", once per peer apird on a non-default port; a later
 * line for the same IP replaces the earlier one. */
static int set_peer(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	struct apird_peer_port p;
	unsigned int i;

	if (parse_ip_port(v, &p.ip, &p.port) != 1) {
		snprintf(err, err_len, "peer: '%s' is not IPv4:PORT", v);
		return -EINVAL;
	}
	for (i = 0; i < cfg->num_peers && cfg->peers[i].ip.s_addr != p.ip.s_addr; i++)
		;
	if (i == APIRD_FABRIC_PEERS_MAX) {
		snprintf(err, err_len, "peer: at most %u peer lines", APIRD_FABRIC_PEERS_MAX);
		return -EINVAL;
	}
	cfg->peers[i] = p;
	if (i == cfg->num_peers)
		cfg->num_peers++;
	return 0;
}

/* "1073741824", "512M", "4G": a byte count with an optional binary suffix. */
static int parse_size(const char *v, uint64_t *size)
{
	static const char suffixes[] = "KMGT";
	const char *unit;
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!isdigit((unsigned char)*v) || errno)
		return -1;
	if (*end) {
		unit = strchr(suffixes, toupper((unsigned char)*end));
		if (!unit || end[1])
			return -1;
		for (int shift = 10 * (int)(unit - suffixes + 1); shift; shift -= 10) {
			if (n > (~0ull >> 10))
				return -1;
			n <<= 10;
		}
	}
	*size = n;
	return 0;
}

/* A "KEY=PATH" field into dst, if its key is key and PATH fits. */
static bool path_field(const char *field, size_t klen, const char *key, char *dst, size_t cap)
{
	const char *v = field + klen + 1;

	if (klen != strlen(key) || strncmp(field, key, klen) || !field[klen] || !*v ||
	    strlen(v) >= cap)
		return false;
	snprintf(dst, cap, "%s", v);
	return true;
}

/* One "key=value" field of a vm line. */
static int set_vm_field(struct apird_vm_config *vm, const char *field, char *err, size_t err_len)
{
	const char *eq = strchr(field, '=');
	size_t klen = eq ? (size_t)(eq - field) : strlen(field);

	if (path_field(field, klen, "socket", vm->socket_path, sizeof(vm->socket_path)) ||
	    path_field(field, klen, "ram", vm->ram_path, sizeof(vm->ram_path)) ||
	    path_field(field, klen, "qmp", vm->qmp_path, sizeof(vm->qmp_path)))
		return 0;
	if (klen == 4 && !strncmp(field, "size", 4) && eq && !parse_size(eq + 1, &vm->ram_size) &&
	    vm->ram_size && !(vm->ram_size & 4095))
		return 0;
	snprintf(err, err_len, "vm: '%s' is not socket=PATH, ram=FILE, size=BYTES (a multiple "
		 "of 4096, K/M/G/T suffixes) or qmp=PATH", field);
	return -EINVAL;
}

/* Two sockets of the VMs (port or monitor) at one path would take each
 * other's connections. */
static bool socket_taken(const struct apird_vm_config *a, const struct apird_vm_config *b)
{
	return !strcmp(a->socket_path, b->socket_path) ||
	       (b->qmp_path[0] && !strcmp(a->socket_path, b->qmp_path)) ||
	       (a->qmp_path[0] && (!strcmp(a->qmp_path, b->socket_path) ||
				   !strcmp(a->qmp_path, b->qmp_path)));
}

static int check_vm_name(const struct apird_config *cfg, const struct apird_vm_config *vm,
			 char *err, size_t err_len)
{
	size_t len = strlen(vm->name);

	for (const char *p = vm->name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			len = 0;
	if (len == 0) {
		snprintf(err, err_len, "vm: name '%s' must be 1..%d of [A-Za-z0-9_-]", vm->name,
			 APIRD_VM_NAME_MAX - 1);
		return -EINVAL;
	}
	if (vm->qmp_path[0] && !strcmp(vm->qmp_path, vm->socket_path)) {
		snprintf(err, err_len, "vm %s: qmp and socket must be two paths", vm->name);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->num_vms; i++)
		if (!strcmp(cfg->vms[i].name, vm->name) || socket_taken(&cfg->vms[i], vm)) {
			snprintf(err, err_len, "vm %s: its name or a socket is already used by vm %s",
				 vm->name, cfg->vms[i].name);
			return -EINVAL;
		}
	return 0;
}

/* "vm = NAME,socket=PATH,ram=FILE,size=BYTES[,qmp=PATH]", once per VM. */
static int set_vm(struct apird_config *cfg, const char *v, char *err, size_t err_len)
{
	struct apird_vm_config vm = { .ram_size = 0 };
	char copy[2 * APIRD_SOCKET_PATH_MAX + APIRD_VM_RAM_PATH_MAX + 128];
	char *field, *save = NULL;
	int rc = 0;

	if (cfg->num_vms == APIRD_VMS_MAX || strlen(v) >= sizeof(copy)) {
		snprintf(err, err_len, "vm: at most %u VMs, each line shorter than %zu bytes",
			 APIRD_VMS_MAX, sizeof(copy));
		return -EINVAL;
	}
	snprintf(copy, sizeof(copy), "%s", v);
	field = strtok_r(copy, ",", &save);
	snprintf(vm.name, sizeof(vm.name), "%s", field ? field : "");
	if (field && strlen(field) >= sizeof(vm.name))
		vm.name[0] = '\0';
	while (!rc && (field = strtok_r(NULL, ",", &save)))
		rc = set_vm_field(&vm, field, err, err_len);
	if (rc)
		return rc;
	if (!vm.socket_path[0] || !vm.ram_path[0] || !vm.ram_size) {
		snprintf(err, err_len, "vm: '%s' needs NAME,socket=PATH,ram=FILE,size=BYTES", v);
		return -EINVAL;
	}
	rc = check_vm_name(cfg, &vm, err, err_len);
	if (!rc)
		cfg->vms[cfg->num_vms++] = vm;
	return rc;
}

uint16_t apird_config_peer_port(const struct apird_config *cfg, struct in_addr ip)
{
	for (unsigned int i = 0; i < cfg->num_peers; i++)
		if (cfg->peers[i].ip.s_addr == ip.s_addr)
			return cfg->peers[i].port;
	return APIR_FAB_DEFAULT_PORT;
}

static const struct {
	const char *key;
	int (*set)(struct apird_config *cfg, const char *v, char *err, size_t err_len);
} config_keys[] = {
	{ "socket", set_socket },
	{ "log_level", set_log_level },
	{ "gid_ipv4", set_gid_ipv4 },
	{ "spin_us", set_spin_us },
	{ "sched_priority", set_sched_priority },
	{ "session_ring_mib", set_session_ring_mib },
	{ "device_name", set_device_name },
	{ "engine", set_engine },
	{ "fabric_addr", set_fabric_addr },
	{ "fabric_provider", set_fabric_provider },
	{ "peer", set_peer },
	{ "vm", set_vm },
};

int apird_config_set(struct apird_config *cfg, const char *key, const char *value,
		     char *err, size_t err_len)
{
	for (size_t i = 0; i < sizeof(config_keys) / sizeof(config_keys[0]); i++)
		if (strcmp(key, config_keys[i].key) == 0)
			return config_keys[i].set(cfg, value, err, err_len);
	snprintf(err, err_len, "unknown setting '%s'", key);
	return -EINVAL;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Parses one line in place. Blank lines and comments are fine. */
static int parse_line(struct apird_config *cfg, char *line, char *err, size_t err_len)
{
	char *hash = strchr(line, '#');
	char *eq, *key;

	if (hash)
		*hash = '\0';
	key = trim(line);
	if (!*key)
		return 0;
	eq = strchr(key, '=');
	if (!eq) {
		snprintf(err, err_len, "expected 'key = value'");
		return -EINVAL;
	}
	*eq = '\0';
	return apird_config_set(cfg, trim(key), trim(eq + 1), err, err_len);
}

int apird_config_parse(struct apird_config *cfg, const char *text, char *err, size_t err_len)
{
	char *copy = strdup(text);
	char *line, *save = NULL;
	unsigned int lineno = 0;
	int rc = 0;

	if (!copy)
		return -ENOMEM;
	/* strtok_r would merge empty lines and shift the line numbers. */
	for (line = copy; line && !rc; line = save) {
		char reason[160];

		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		rc = parse_line(cfg, line, reason, sizeof(reason));
		if (rc)
			snprintf(err, err_len, "line %u: %s", lineno, reason);
	}
	free(copy);
	return rc;
}

int apird_config_load(struct apird_config *cfg, const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	char *text;
	size_t n;
	int rc;

	if (!f) {
		rc = -errno;
		snprintf(err, err_len, "%s: %s", path, strerror(-rc));
		return rc;
	}
	text = malloc(CONFIG_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
	if (ferror(f) || n > CONFIG_FILE_MAX) {
		snprintf(err, err_len, "%s: unreadable or larger than %u bytes", path, CONFIG_FILE_MAX);
		rc = -EINVAL;
	} else {
		char reason[200];

		text[n] = '\0';
		rc = apird_config_parse(cfg, text, reason, sizeof(reason));
		if (rc)
			snprintf(err, err_len, "%s: %s", path, reason);
	}
	free(text);
	fclose(f);
	return rc;
}
