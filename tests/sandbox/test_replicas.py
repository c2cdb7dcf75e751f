"""The replica helpers of bot/sandbox/replicas.py: whose pid a claim names, and whether a process listens on a port
(the readiness of one replica among several on one port)."""

from __future__ import annotations

import os
import socket

from bot.app import process_owner
from bot.sandbox.replicas import listens_on, owner_pid


def test_owner_pid_reads_the_pid_of_a_claim_with_or_without_its_token() -> None:
    owner = process_owner()
    assert owner_pid(owner) == os.getpid()
    assert owner_pid(f"{owner}/0123456789abcdef0123456789abcdef") == os.getpid()


def test_listens_on_sees_this_process_listening_and_not_before_or_after() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        assert not listens_on(os.getpid(), port)  # bound, not listening
        sock.listen()
        assert listens_on(os.getpid(), port)
        assert not listens_on(os.getppid(), port)  # another process on the same port: not it
    assert not listens_on(os.getpid(), port)
