"""Replicas on one port: `python -m bot` in webhook mode, several processes listening on one WEBHOOK_PORT
(SO_REUSEPORT, bot/runtime/webhook.py), for the two-replica kill test and the webhook bench.

WebhookChild's readiness (GET /healthz answering 200) cannot tell replicas apart: once one serves, any of them may
answer. `ReplicaChild` is ready when its own process holds a listening socket on the port, which the webhook
server opens last, after its services; `listens_on(pid, port)` reads that from /proc (Linux, as SO_REUSEPORT's
balancing is). `owner_pid` reads the process id out of a claim's lease_owner (bot.app.process_owner).
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.sandbox.child import WebhookChild, wait_until

__all__ = ["ReplicaChild", "listens_on", "owner_pid"]

LISTEN = "0A"  # the TCP state column of /proc/net/tcp


def _listening_inodes(port: int) -> set[str]:
    """Socket inodes listening on `port` (any address, IPv4 or IPv6), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds a socket listening on `port`."""
    inodes = _listening_inodes(port)
    if not inodes:
        return False
    try:
        descriptors = os.listdir(f"/proc/{pid}/fd")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{descriptor}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def owner_pid(lease_owner: str) -> int:
    """The pid in "<host>:<pid>:<token>" (a claim may append "/<claim token>")."""
    return int(lease_owner.split("/", 1)[0].rsplit(":", 2)[1])


class ReplicaChild(WebhookChild):
    """A webhook replica that may share its port with others: ready once this very process listens on it."""

    async def ready(self) -> None:
        port = int(self.env["WEBHOOK_PORT"])

        async def listening() -> bool:
            return self.pid is not None and listens_on(self.pid, port)

        await wait_until(listening, timeout=None)  # start() bounds it, and fails at once if the child dies
