/* SPDX-License-Identifier: MIT */
/* apird settings: defaults, "key = value" config files, command line. */
#ifndef APIRD_CONFIG_H
#define APIRD_CONFIG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apir/log.h"

#define APIRD_SOCKET_PATH_MAX 108   /* sizeof(sockaddr_un.sun_path) */
#define APIRD_DEVICE_NAME_MAX 64    /* IBV_SYSFS_NAME_MAX */
#define APIRD_ENGINE_NAME_MAX 16
#define APIRD_SPIN_US_DEFAULT 50u
#define APIRD_SPIN_US_MAX 1000000u
#define APIRD_FABRIC_PROVIDER_MAX 64
#define APIRD_FABRIC_PROVIDER_DEFAULT "tcp;ofi_rxm"
#define APIRD_FABRIC_PEERS_MAX 256  /* "peer = IP:PORT" lines */
#define APIRD_VMS_MAX 32            /* "vm = ..." lines */
#define APIRD_VM_NAME_MAX 32
#define APIRD_VM_RAM_PATH_MAX 256
#define APIRD_SESSION_RING_MIB_DEFAULT 1024u
#define APIRD_SESSION_RING_MIB_MAX (1u << 20)
#define APIRD_SCHED_PRIORITY_AUTO (-1)
#define APIRD_SCHED_PRIORITY_MAX 99  /* sched_get_priority_max(SCHED_FIFO) on Linux */

/* A peer apird listening on another port than the default one. */
struct apird_peer_port {
	struct in_addr ip;
	uint16_t port;
};

/* A QEMU guest apird serves through the virtio-serial transport: QEMU
 * connects to socket_path; its RAM is ram_size bytes in ram_path. With
 * qmp_path, QEMU's monitor connects there too, which tells apird when the
 * guest process closes the port ("" = no monitor). */
struct apird_vm_config {
	char name[APIRD_VM_NAME_MAX];
	char socket_path[APIRD_SOCKET_PATH_MAX];
	char ram_path[APIRD_VM_RAM_PATH_MAX];
	uint64_t ram_size;
	char qmp_path[APIRD_SOCKET_PATH_MAX];
};

struct apird_config {
	char socket_path[APIRD_SOCKET_PATH_MAX];
	enum apir_log_level log_level;
	struct in_addr gid_ipv4;     /* the port GID is ::ffff:<gid_ipv4> */
	uint32_t spin_us;            /* busy-poll budget before sleeping */
	/* SCHED_FIFO priority of apird's loop: 0 normal scheduling, 1..99,
	 * or APIRD_SCHED_PRIORITY_AUTO (sched_policy.c decides). */
	int sched_priority;
	/* Ring memory (QP, CQ, SRQ areas) apird allocates for one session. */
	uint32_t session_ring_mib;
	char device_name[APIRD_DEVICE_NAME_MAX];
	char engine[APIRD_ENGINE_NAME_MAX];   /* the verbs device's engine: "sw" */
	/* The fabric engine is on once fabric_addr is set; its IP is then
	 * also the port GID's address (gid_ipv4 is ignored). */
	bool fabric_enabled;
	struct in_addr fabric_ip;
	uint16_t fabric_port;        /* APIR_FAB_DEFAULT_PORT unless given */
	char fabric_provider[APIRD_FABRIC_PROVIDER_MAX];
	struct apird_peer_port peers[APIRD_FABRIC_PEERS_MAX];
	unsigned int num_peers;
	struct apird_vm_config vms[APIRD_VMS_MAX];
	unsigned int num_vms;
};

/* The default spin budget for a machine with this many online CPUs. */
uint32_t apird_default_spin_us(long online_cpus);
void apird_config_defaults(struct apird_config *cfg);
/* Applies one setting. Returns 0, or -EINVAL with a reason in err. */
int apird_config_set(struct apird_config *cfg, const char *key, const char *value,
		     char *err, size_t err_len);
/* Parses config file text: "key = value" lines, '#' comments, blank lines.
 * Returns 0, or -EINVAL with "line N: reason" in err. */
int apird_config_parse(struct apird_config *cfg, const char *text, char *err, size_t err_len);
/* The port a peer apird at ip listens on: its "peer" line, else the
 * default fabric port. */
uint16_t apird_config_peer_port(const struct apird_config *cfg, struct in_addr ip);
/* Reads and parses a config file. Returns 0 or -errno with a reason in err. */
int apird_config_load(struct apird_config *cfg, const char *path, char *err, size_t err_len);

#endif /* APIRD_CONFIG_H */
