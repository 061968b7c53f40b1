"""A real compute service process for the core's tests, spoken to over its pipes with the
protocol module (the app's Qt client is tested in tests/workbench)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from training.service import protocol as P

ROOT = Path(__file__).resolve().parents[3]


class ServiceProc:
    """``python -m training.service`` with ``args``; stderr (its log) goes to ``log_path``."""

    def __init__(self, log_path, *args: str, hello: bool = True) -> None:
        self.log_path = Path(log_path)
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([sys.executable, "-m", "training.service", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log_path, "ab"), cwd=ROOT, env=env)
        self.decoder = P.Decoder()
        self.pending: list[dict] = []
        self.next_id = 0
        self.hello = self.receive(lambda m: m["type"] == P.HELLO, timeout=60)
        if hello:
            self.send({"type": P.HELLO, "protocol": P.PROTOCOL_VERSION})

    def send(self, message: dict) -> None:
        self.proc.stdin.write(P.encode(message))
        self.proc.stdin.flush()

    def request(self, method: str, **params) -> int:
        self.next_id += 1
        self.send({"type": P.REQUEST, "id": self.next_id, "method": method, "params": params})
        return self.next_id

    def receive(self, match, timeout: float = 120) -> dict:
        """The first message (already read or arriving) for which ``match`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.pending):
                if match(m):
                    return self.pending.pop(i)
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching message in {timeout} s; log:\n{self.log_tail()}")
            data = self.proc.stdout.read1(1 << 16)
            if not data:
                raise EOFError(f"the service ended ({self.proc.wait()}); log:\n{self.log_tail()}")
            self.pending.extend(self.decoder.feed(data))

    def final(self, rid: int, timeout: float = 120) -> dict:
        """The ``result``/``error``/``stopped`` of request ``rid``."""
        return self.receive(lambda m: m.get("id") == rid and m["type"] in P.FINAL_TYPES, timeout)

    def call(self, method: str, timeout: float = 120, **params):
        reply = self.final(self.request(method, **params), timeout)
        assert reply["type"] == P.RESULT, reply
        return reply["data"]

    def messages_for(self, rid: int) -> list[dict]:
        return [m for m in self.pending if m.get("id") == rid]

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def close(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait()
