/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: a frontend's control plane as apird serves it. Each
 * input is one session of a real apird (the daemon, session and dispatch
 * code, no fabric): a valid Hello, then the input's frames (fuzz_control.h),
 * each served and answered, then the session's end, which must release
 * everything it created (LeakSanitizer). A hostile frontend may get errors
 * or lose its session; apird may never crash, read out of bounds or leak.
 */
#include "fuzz_control.h"
#include "fuzz_session.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_client c;
	bool alive = fuzz_client_open(&c, &fuzz_apird);

	while (alive && size >= FUZZ_FRAME_LEN_BYTES) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;

		data += FUZZ_FRAME_LEN_BYTES;
		size -= FUZZ_FRAME_LEN_BYTES;
		if (len > size)
			len = size;
		alive = fuzz_client_send_raw(&c, data, len);
		sw_engine_poll(test_verbs_dev(&fuzz_apird));
		data += len;
		size -= len;
	}
	fuzz_client_close(&c);
	return 0;
}
