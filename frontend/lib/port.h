/* SPDX-License-Identifier: MIT */
/*
 * The guest's virtio-serial port to apird, opened once per process: frames
 * out under a lock, and a reader thread that hands each response to the
 * call waiting for its id and turns unsolicited Events into records on
 * local pipes (completion channels, the async event pipe), so applications
 * see the same fds as on the unix transport. Private to frontend/lib.
 */
#ifndef APIR_PORT_H
#define APIR_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct apir_port;

/* Takes fd (a connected byte stream) and starts its reader. 0 or errno. */
int apir_port_start(int fd, struct apir_port **out);
/* Stops the reader and closes the fd (tests; a process keeps its port). */
void apir_port_stop(struct apir_port *p);
int apir_port_fd(const struct apir_port *p);

/* Sends one frame. 0 or -errno (-EIO once the port is dead). */
int apir_port_send(struct apir_port *p, const void *payload, size_t len);

/* Announces the id of the next response to wait for; then, after sending,
 * apir_port_wait returns its payload (malloc()ed). Only one call waits at
 * a time. 0 or -errno (-EIO: the port died). */
void apir_port_expect(struct apir_port *p, uint64_t id);
int apir_port_wait(struct apir_port *p, uint8_t **payload, size_t *len);

bool apir_port_dead(struct apir_port *p);

/* Where events go. The port owns the fds given (write ends, made
 * non-blocking) and closes them when replaced, removed, or the port dies
 * (the async one: EOF tells the application the device is fatal). */
int apir_port_set_channel(struct apir_port *p, uint32_t handle, int write_end);
void apir_port_clear_channel(struct apir_port *p, uint32_t handle);
void apir_port_set_async(struct apir_port *p, int write_end);
/* Closes every event fd (a session ended). */
void apir_port_clear_events(struct apir_port *p);

/* The single session the port carries: claim fails EBUSY while taken. */
int apir_port_claim(struct apir_port *p);
void apir_port_release(struct apir_port *p);

#endif /* APIR_PORT_H */
