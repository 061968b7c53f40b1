"""The compute service talks over its pipes only (issue 25 item 4): after a handshake and
requests, the process holds no listening TCP/UDP socket and no listening Unix socket
(TensorFlow's gRPC server, a debug port or a stray socket would show here)."""
from __future__ import annotations

import os
import sys

import pytest

from tests.training.service.serviceproc import ServiceProc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads the process's sockets from /proc")


def listening_sockets(pid: int) -> list[str]:
    """``["tcp 0100007F:1F90", "unix /tmp/x", …]``: the sockets ``pid`` listens on."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            # tcp: state 0A is LISTEN; a bound UDP socket receives from anyone.
            if f[9] in inodes and (table.startswith("udp") or f[3] == "0A"):
                found.append(f"{table} {f[1]}")
    for line in open(f"/proc/{pid}/net/unix").read().splitlines()[1:]:
        f = line.split()
        if f[6] in inodes and int(f[3], 16) & 0x10000:   # __SO_ACCEPTCON: listening
            found.append(f"unix {f[7] if len(f) > 7 else '(unnamed)'}")
    return found


def test_the_service_opens_no_listening_socket(tmp_path):
    svc = ServiceProc(tmp_path / "service.log")
    try:
        assert svc.call("ping")                  # the handshake and one request answered
        svc.call("device", timeout=300)          # TensorFlow imported and its devices listed
        assert listening_sockets(svc.proc.pid) == [], svc.log_tail()
        assert listening_sockets(os.getpid()) == []   # nor the side that started it
    finally:
        svc.close()
