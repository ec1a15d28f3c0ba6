"""Process plumbing and machine facts shared by the comparison scripts of bench/: children
that die with the script, CPU time and RSS of a running process read from /proc, pinning with
taskset, the machine and commit a result was measured on. Python 3 standard library only."""

from __future__ import annotations

import ctypes
import os
import platform
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:
    _libc = None


def child_setup() -> None:
    """Runs in each child before exec: a child outlives no interrupted script (SIGTERM when
    the script dies); the normal path stops each child by its PID."""
    if _libc is not None:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("GOMAXPROCS", None)  # under taskset Go picks 1 by itself
    return env


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after `timeout`; True when it exited on SIGTERM."""
    if proc.poll() is not None:
        return True
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def run_to_end(argv: list[str], timeout: float) -> dict[str, Any]:
    """Runs a client to its end (killed after `timeout`): its exit status (None when killed),
    wall time, stdout, and the tail of its stderr."""
    out: dict[str, Any] = {}
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=child_env(), preexec_fn=child_setup)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        out["exit_code"] = proc.returncode
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        out["exit_code"] = None
        out["timed_out"] = True
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out["wall_s"] = round(time.monotonic() - start, 4)
    out["stdout"] = stdout.decode("utf-8", "replace")
    out["stderr_tail"] = stderr[-800:].decode("utf-8", "replace")
    return out


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a running process (/proc/PID/stat, clock ticks)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int | None:
    """VmRSS of a running process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port free now, for a tool that logs the address it was given rather than the one
    it bound (so it cannot be given port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class Pinning:
    """CPUs for the roles of a run (taskset); a role mapped to None runs unpinned."""
    enabled: bool
    cpus: dict[str, int | None]

    def prefix(self, role: str) -> list[str]:
        cpu = self.cpus.get(role)
        if not self.enabled or cpu is None:
            return []
        return ["taskset", "-c", str(cpu)]


def command_output(argv: list[str]) -> str | None:
    try:
        r = subprocess.run(argv, timeout=10, capture_output=True, text=True)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def machine_info(pinning: dict[str, Any] | None) -> dict[str, Any]:
    """The machine, the load and the commit a result was measured on; `pinning` says which
    CPUs the roles ran on (None: unpinned)."""
    info: dict[str, Any] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpus_online"] = os.cpu_count()
    info["cpus_allowed"] = sorted(os.sched_getaffinity(0))
    u = os.uname()
    info["kernel"] = f"{u.sysname} {u.release} {u.version}"
    info["machine"] = u.machine
    info["python"] = platform.python_version()
    info["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    info["pinning"] = pinning
    info["git_commit"] = command_output(["git", "-C", str(REPO), "rev-parse", "HEAD"])
    dirty = command_output(["git", "-C", str(REPO), "status", "--porcelain",
                            "--untracked-files=no"])
    info["git_dirty"] = None if dirty is None else bool(dirty)
    return info


def display_path(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(REPO))
    except ValueError:
        return str(p)


def fmt_duration(s: float) -> str:
    return f"{s:.0f} s" if s < 90 else f"{s / 60:.1f} min"
