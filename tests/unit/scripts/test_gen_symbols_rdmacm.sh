#!/bin/sh
# SPDX-License-Identifier: MIT
#
# gen_symbols.sh on a library other than libibverbs: librdmacm.so.1, which
# has no compat versions (the generator once mis-parsed it: an empty list of
# compat names made its awk take the whole preprocessed verbs.h for names).
#
#   test_gen_symbols_rdmacm.sh GEN_SYMBOLS_SH [LIB] [CC]
#
# The expected symbol set is read independently of the generator, with
# readelf, so that a newer rdma-core is followed; the Debian 12 figures
# (RDMACM_1.0..1.3, 41 rdma_* and 27 rsocket functions) are floors.
set -eu

gen=$1
lib=${2:-/usr/lib/x86_64-linux-gnu/librdmacm.so.1}
cc=${3:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# "name version" of every function LIB defines at a default version.
expected_symbols() {
	readelf --dyn-syms -W "$lib" |
		awk '$4 == "FUNC" && $7 != "UND" && $8 ~ /@@/ { split($8, p, "@@"); print p[1], p[2] }' | sort -u
}

check_floors() {
	n_rdma=$(grep -c '^rdma_' "$tmp/expected") || true
	n_rsocket=$(grep -v '^rdma_' "$tmp/expected" | grep -c '^r') || true
	[ "$n_rdma" -ge 41 ] || fail "only $n_rdma rdma_* functions in $lib"
	[ "$n_rsocket" -ge 27 ] || fail "only $n_rsocket rsocket functions in $lib"
	for v in RDMACM_1.0 RDMACM_1.1 RDMACM_1.2 RDMACM_1.3; do
		grep -q " $v\$" "$tmp/expected" || fail "$lib defines nothing at $v"
	done
}

# No compat version: the header binds nothing.
check_symver_header() {
	sh "$gen" symver-header "$lib" "$tmp/symver.h"
	! grep -q symver "$tmp/symver.h" || fail "symver-header bound a symbol of $lib"
}

# Without objects every public function is refused, each by name.
check_refusal() {
	mkdir "$tmp/none"
	if sh "$gen" generate "$lib" "$tmp/none" "$cc" 2> "$tmp/refusal"; then
		fail "generate stubbed the public functions of $lib silently"
	fi
	! grep -q awk: "$tmp/refusal" || fail "generate crashed: $(grep awk: "$tmp/refusal")"
	sed -n 's/^gen_symbols: public symbol \([^@]*\)@@\([^ ]*\) is not implemented.*/\1 \2/p' \
		"$tmp/refusal" | sort > "$tmp/refused"
	diff -u "$tmp/expected" "$tmp/refused" || fail "refused set differs from $lib's (- expected, + refused)"
}

# With every function defined, the version script reproduces the library:
# a library linked with it exports exactly the system set.
check_full_set() {
	awk '{ printf("void %s(void) {}\n", $1) }' "$tmp/expected" > "$tmp/all.c"
	"$cc" -c -fPIC -fvisibility=default -o "$tmp/all.o" "$tmp/all.c"
	mkdir "$tmp/full"
	sh "$gen" generate "$lib" "$tmp/full" "$cc" "$tmp/all.o"
	! grep -q '^APIR_ABI_STUB' "$tmp/full/abi_stubs.c" || fail "generate stubbed a function of $lib"
	"$cc" -shared -o "$tmp/ours.so" -Wl,-soname,"${lib##*/}" \
		-Wl,--version-script="$tmp/full/libibverbs.map" "$tmp/all.o"
	sh "$gen" check "$lib" "$tmp/ours.so"
}

expected_symbols > "$tmp/expected"
check_floors
check_symver_header
check_refusal
check_full_set
echo "ok: gen_symbols.sh handles $lib ($(wc -l < "$tmp/expected") public functions)"
