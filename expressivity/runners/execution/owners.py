"""Who owns a claimed run: an owner id names a process as "host:pid:start-time", so a pid the kernel reuses later is
a different owner, and a store can tell whether the process that claimed a run is still alive (on this host).

    owner = owner_id()          # this process
    owner_alive(owner)          # True; False once it is gone; None for an owner on another host
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def _proc_start(pid: int) -> str:
    """The kernel's start time of a process (field 22 of /proc/PID/stat), or "" where /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def owner_id(pid: int | None = None) -> str:
    """host:pid:start-time of a process: a pid the kernel reuses later gets a different id."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_proc_start(pid)}"


def owner_pid(owner: str) -> int:
    """The pid of an owner id ("host:pid:start")."""
    return int(owner.rsplit(":", 2)[1])


def owner_alive(owner: str) -> bool | None:
    """True or False for an owner on this host; None (unknown) for one on another host."""
    host, pid, start = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return _proc_start(int(pid)) == start
