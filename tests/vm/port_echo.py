# SPDX-License-Identifier: MIT
"""Host end of a guest's org.apir.0 port for tests/vm, until apird serves
VM sockets: listens on the unix socket QEMU's chardev connects to, answers
each line the guest writes with "pong <line>", and exits when QEMU hangs up
(or after a minute). Prints what it received."""
import socket
import sys

path = sys.argv[1]
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(60)
print("listening", flush=True)
conn, _ = server.accept()
print("QEMU connected", flush=True)
conn.settimeout(60)
pending = b""
while True:
    data = conn.recv(4096)
    if not data:
        break
    pending += data
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        print("guest wrote:", line.decode(errors="replace"), flush=True)
        conn.sendall(b"pong " + line + b"\n")
print("QEMU hung up", flush=True)
