#!/bin/sh
# SPDX-License-Identifier: MIT
#
# scripts/check-deps on a fixture tree laid out like the backend (core/,
# services/x/, transports/t/): it passes while core reaches the service only
# through an ops table, and fails on a direct core -> services call (also
# one hidden in a macro) and on a call cycle spanning two folders; a cycle
# inside one folder, calls named in comments or strings, and --report pass.
#
#   test_check_deps.sh [CHECK_DEPS]
set -eu

check_deps=${1:-$(dirname "$0")/../../../scripts/check-deps}
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# The layered tree: services register an ops table, core calls through it;
# core/table.c and core/loop.c call each other (one folder: allowed).
write_tree() {
	mkdir -p "$tree/core" "$tree/services/x" "$tree/transports/t"
	cat > "$tree/core/core.h" <<-'EOF'
		struct ops { int (*start)(void); };
		void core_register(const struct ops *ops);
		static inline int core_twice(int n) { return 2 * n; }
	EOF
	cat > "$tree/core/loop.c" <<-'EOF'
		#include "core.h"
		static const struct ops *registered;
		int table_size(void);
		void core_register(const struct ops *ops) { registered = ops; }
		/* Not a call: x_start() */
		int core_run(void)
		{
			const char *why = "x_start()";
			(void)why;
			return registered->start() + table_size();
		}
		int core_tick(void) { return core_twice(1); }
	EOF
	cat > "$tree/core/table.c" <<-'EOF'
		int core_tick(void);
		int table_size(void) { return core_tick(); }
	EOF
	cat > "$tree/services/x/x.c" <<-'EOF'
		#include "../../core/core.h"
		int x_start(void) { return 0; }
		static const struct ops x_ops = { .start = x_start };
		void x_init(void) { core_register(&x_ops); }
	EOF
	cat > "$tree/transports/t/t.c" <<-'EOF'
		int core_run(void);
		int t_poll(void) { return core_run(); }
	EOF
}

# expect_check STATUS PATTERN [ARG]: check-deps [ARG] exits STATUS and
# prints a line matching PATTERN.
expect_check() {
	status=0
	out=$("$check_deps" ${3:+"$3"} "$tree" 2>&1) || status=$?
	[ "$status" -eq "$1" ] || fail "exit $status, not $1:
$out"
	echo "$out" | grep -q -- "$2" || fail "no line matching '$2':
$out"
}

write_tree
expect_check 0 '4 files in 3 folders.* 0 cycle(s) across folders, 0 call(s) from core/'

# A direct call from core into a service.
sed -i 's/return registered->start()/return x_start()/' "$tree/core/loop.c"
expect_check 1 'core calls into services/: core/loop.c:10 core_run() -> x_start() \[services/x/x.c\]'
expect_check 0 'core calls into services/' --report

# The same call hidden in a macro of a header is still a call.
sed -i 's/return x_start()/return START()/' "$tree/core/loop.c"
echo '#define START() x_start()' >> "$tree/core/core.h"
expect_check 1 'core calls into services/: core/loop.c:10 core_run() -> x_start()'

# Back to the ops table; then a cycle between two folders.
sed -i 's/return START()/return registered->start()/' "$tree/core/loop.c"
expect_check 0 '0 cycle(s) across folders, 0 call(s)'
cat >> "$tree/services/x/x.c" <<-'EOF'
	int t_poll(void);
	int x_poll(void) { return t_poll(); }
EOF
cat >> "$tree/transports/t/t.c" <<-'EOF'
	int x_start(void);
	int t_start(void) { return x_start(); }
EOF
expect_check 1 'cycle of 2 files across services/x, transports/t:'
expect_check 1 'transports/t/t.c:4 t_start() -> x_start() \[services/x/x.c\]'
expect_check 1 '1 cycle(s) across folders, 0 call(s) from core/'
echo "ok: check-deps fails and passes as it should"
