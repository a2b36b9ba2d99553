/* SPDX-License-Identifier: MIT */
/*
 * apird's CPU scheduling. apird plays the part of a NIC: a hardware RNIC
 * moves bytes while the application spins, and a kernel software RDMA
 * engine (rxe) runs in softirq context, ahead of every user thread. apird is
 * a user process instead, and RDMA applications busy-poll (perftest spins
 * on its CQ or on a buffer's last byte), so on a machine with no spare core
 * a doorbell or an arriving packet wakes apird only to queue it behind a
 * spinner for up to a scheduler slice (milliseconds). SCHED_FIFO runs the
 * woken loop at once. apird holds the CPU only while it has work when it
 * sleeps as soon as it is idle (spin_us 0), so "auto" asks for the lowest
 * real-time priority then, where the system allows it; a spinning apird
 * keeps normal scheduling unless the operator asks otherwise.
 * The kernel's real-time throttling (sched_rt_runtime_us) still reserves
 * CPU time for normal tasks.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "apir/log.h"
#include "apird.h"

#define SCHED_PRIORITY_AUTO_FIFO 1

/* Only the calling thread: threads a provider started are left alone. */
static int set_fifo(int priority)
{
	struct sched_param p = { .sched_priority = priority };

	return sched_setscheduler(0, SCHED_FIFO, &p) ? -errno : 0;
}

int apird_sched_apply(const struct apird_config *cfg)
{
	int rc;

	if (cfg->sched_priority == 0)
		return 0;
	if (cfg->sched_priority > 0) {
		rc = set_fifo(cfg->sched_priority);
		if (rc)
			apir_err("sched_priority %d: SCHED_FIFO refused: %s (needs root or "
				 "CAP_SYS_NICE)", cfg->sched_priority, strerror(-rc));
		else
			apir_info("scheduling: SCHED_FIFO priority %d", cfg->sched_priority);
		return rc;
	}
	if (cfg->spin_us) {
		apir_info("scheduling: normal (apird spins %u us before sleeping)", cfg->spin_us);
		return 0;
	}
	rc = set_fifo(SCHED_PRIORITY_AUTO_FIFO);
	if (rc)
		apir_info("scheduling: normal (SCHED_FIFO refused: %s)", strerror(-rc));
	else
		apir_info("scheduling: SCHED_FIFO priority %d", SCHED_PRIORITY_AUTO_FIFO);
	return 0;
}
