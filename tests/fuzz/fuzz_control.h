/* SPDX-License-Identifier: MIT */
/*
 * The input format of fuzz_control: a sequence of frames, each a 2-byte
 * little-endian length and that many bytes of request payload (a packed
 * apir.Request, or whatever the fuzzer made of one).
 */
#ifndef APIR_FUZZ_CONTROL_H
#define APIR_FUZZ_CONTROL_H

#define FUZZ_FRAME_LEN_BYTES 2u

#endif /* APIR_FUZZ_CONTROL_H */
