#!/usr/bin/env python3
"""Compares the C++ smux-bench with the Go smuxbench (BENCH_PROTOCOL.md) on 127.0.0.1.

Runs a matrix of cells (mode, streams, message size) for every pairing (raw TCP with each tool,
Go<->Go, C++<->C++, C++ client -> Go server, Go client -> C++ server) and smux version, with a
fresh server process per run, the server pinned to one CPU and the client to another, and
several rounds that interleave the pairings cell by cell. Writes the raw result lines and the
medians as JSON, Markdown tables and a chart.

Beyond the contract's setup, two groups of cells: `threads` (both tools with --threads N, the
connections spread over N threads, both processes sharing N CPUs) and `tls` (every connection
over TLS, raw TLS as the baseline). `--groups` selects groups; the full run has all three.

`--smoke` checks the contract instead (every pairing and mode once, tiny sizes, every result
line validated) and writes only to a temporary directory.

The measuring uses the standard library only; the chart needs matplotlib (python3-matplotlib).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_common as bc  # noqa: E402

REPO = bc.REPO
DEFAULT_CPP = REPO / "build" / "release" / "tools" / "smux-bench"
DEFAULT_GO = REPO / "build" / "bench-go" / "smuxbench-go"
HOST = "127.0.0.1"
KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# ---------------------------------------------------------------------------------------------
# Pairings: who is the client, who is the server, raw TCP or smux.


@dataclass(frozen=True)
class Pairing:
    key: str
    label: str
    client: str  # "cpp" or "go"
    server: str
    raw: bool
    extra: tuple[str, ...] = ()  # flags given to both sides, beyond the contract
    versions: tuple[int, ...] | None = None  # None: every version of the run
    modes: tuple[str, ...] | None = None  # None: every mode
    groups: tuple[str, ...] = ("matrix",)  # the groups of cells it runs in

    def runs(self, cell: Cell, version: int) -> bool:
        return (cell.group in self.groups
                and (self.modes is None or cell.mode in self.modes)
                and (cell.versions is None or self.raw or version in cell.versions)
                and (self.raw or self.versions is None or version in self.versions))


ALL_GROUPS = ("matrix", "threads", "tls")
PAIRINGS = [
    Pairing("raw-cpp", "raw TCP (C++ tool)", "cpp", "cpp", True, groups=ALL_GROUPS),
    Pairing("raw-go", "raw TCP (Go tool)", "go", "go", True, groups=ALL_GROUPS),
    Pairing("go-go", "Go\u2194Go", "go", "go", False, groups=ALL_GROUPS),
    Pairing("cpp-cpp", "C++\u2194C++", "cpp", "cpp", False, groups=ALL_GROUPS),
    Pairing("cpp-go", "C++\u2192Go", "cpp", "go", False, groups=("matrix", "tls")),
    Pairing("go-cpp", "Go\u2192C++", "go", "cpp", False, groups=("matrix", "tls")),
    # The C++ library's opt-in receive-window autotuning (config stream_window_autotune; a v2
    # feature), on bulk cells only: the contract's default-config figures stay in cpp-cpp.
    Pairing("cpp-cpp-at", "C++\u2194C++ autotune", "cpp", "cpp", False,
            extra=("--window-autotune",), versions=(2,), modes=("bulk-up", "bulk-down")),
    # The C++ tool polling its event loop for 50 us before it blocks (--spin-us), an opt-in:
    # every other C++ figure comes from a plain io_context::run(), as a user's program runs.
    Pairing("cpp-cpp-spin", "C++\u2194C++ spinning 50 \u00b5s", "cpp", "cpp", False,
            extra=("--spin-us", "50"), modes=("rpc", "open")),
]
PAIRING_BY_KEY = {p.key: p for p in PAIRINGS}
IMPL_NAMES = {"cpp": "C++ smux-bench", "go": "Go smuxbench"}

# ---------------------------------------------------------------------------------------------
# Cells: one client command line shape (mode, streams, size, bytes, duration).


@dataclass(frozen=True)
class Cell:
    id: str
    mode: str
    streams: int
    size: int = 0  # rpc message size or bulk call size; 0: the tool's default / not used
    bytes_per_stream: int = 0  # bulk
    duration: float = 0.0  # rpc, open, idle
    group: str = "matrix"  # "matrix" (the contract's setup), "threads" or "tls"
    conns: int = 1  # smux sessions carrying the streams (raw: one connection per stream)
    threads: int = 0  # --threads of both sides, and the CPUs they share; 0: the contract's setup
    tls: bool = False  # --tls on both sides
    versions: tuple[int, ...] | None = None  # smux versions it runs with; None: the run's

    def client_args(self) -> list[str]:
        args = ["--mode", self.mode, "--streams", str(self.streams)]
        if self.mode in ("bulk-up", "bulk-down"):
            args += ["--bytes", str(self.bytes_per_stream)]
        if self.size:
            args += ["--size", str(self.size)]
        if self.mode in ("rpc", "open", "idle"):
            args += ["--duration", fmt_float(self.duration)]
        if self.conns != 1:
            args += ["--conns", str(self.conns)]
        return args + self.side_args()

    def side_args(self) -> list[str]:
        """Flags beyond the contract that both sides get."""
        args = ["--threads", str(self.threads)] if self.threads else []
        return args + (["--tls"] if self.tls else [])

    def expected_size(self) -> int:
        if self.mode in ("bulk-up", "bulk-down"):
            return self.size or 65536
        if self.mode == "rpc":
            return self.size or 64
        return 0


def fmt_float(x: float) -> str:
    return f"{x:g}"


def size_label(n: int) -> str:
    if n >= KIB and n % KIB == 0:
        return f"{n // KIB}KiB"
    return f"{n}B"


# Primary figures: (field, unit, higher is better).
METRICS = {
    "bulk-up": [("mb_per_s", "MB/s", True)],
    "bulk-down": [("mb_per_s", "MB/s", True)],
    "rpc": [("ops_per_s", "ops/s", True)],
    "open": [("streams_per_s", "streams/s", True)],
    "idle": [
        ("server_rss_per_stream", "server bytes/stream", False),
        ("client_rss_per_stream", "client bytes/stream", False),
    ],
}
# Further fields whose medians are kept in the JSON.
SECONDARY = {
    "bulk-up": ["elapsed_s", "client_cpu_s", "server_cpu_s"],
    "bulk-down": ["elapsed_s", "client_cpu_s", "server_cpu_s"],
    "rpc": ["p50_us", "p99_us", "mean_us", "client_cpu_s", "server_cpu_s"],
    "open": ["p50_us", "p99_us", "mean_us", "client_cpu_s", "server_cpu_s"],
    "idle": ["elapsed_s", "server_rss_idle", "client_rss_idle"],
}


def matrix_cells(args: argparse.Namespace) -> list[Cell]:
    cells: list[Cell] = []
    for mode in ("bulk-up", "bulk-down"):
        for n in (1, 16):
            cells.append(Cell(f"{mode}/s{n}", mode, n, bytes_per_stream=args.bulk_bytes // n))
    for size in (64, 16 * KIB):
        for n in (1, 16, 256):
            cells.append(Cell(f"rpc/{size_label(size)}/s{n}", "rpc", n, size=size,
                              duration=args.duration))
    cells.append(Cell("open/s256", "open", 256, duration=args.duration))
    for n in args.idle_streams:
        cells.append(Cell(f"idle/s{n}", "idle", n, duration=args.idle_duration))
    return cells


def extra_bulk_bytes(args: argparse.Namespace) -> int:
    """Bulk bytes per cell of the threads and TLS groups: half the matrix's, as TLS, and one
    core shared by both sides, move about half as fast, so a run lasts about as long."""
    return args.bulk_bytes // 2


def threads_cells(args: argparse.Namespace) -> list[Cell]:
    """rpc 64 B over 64 connections (one stream each) and bulk over 16 connections, with each
    thread count next to the others, so that drifts hit them alike."""
    cells: list[Cell] = []
    per_stream = extra_bulk_bytes(args) // 16
    bases = [("rpc/64B/s64c64", "rpc", 64, 64, 64, 0),
             ("bulk-up/s16c16", "bulk-up", 16, 16, 0, per_stream),
             ("bulk-down/s16c16", "bulk-down", 16, 16, 0, per_stream)]
    for base, mode, streams, conns, size, per_stream in bases:
        for n in args.threads:
            cells.append(Cell(f"threads/{base}/t{n}", mode, streams, size=size,
                              bytes_per_stream=per_stream,
                              duration=args.duration if mode == "rpc" else 0.0,
                              group="threads", conns=conns, threads=n))
    return cells


def tls_cells(args: argparse.Namespace) -> list[Cell]:
    cells: list[Cell] = []
    for mode in ("bulk-up", "bulk-down"):
        for n in (1, 16):
            cells.append(Cell(f"tls/{mode}/s{n}", mode, n,
                              bytes_per_stream=extra_bulk_bytes(args) // n,
                              group="tls", tls=True))
    for size in (64, 16 * KIB):
        cells.append(Cell(f"tls/rpc/{size_label(size)}/s16", "rpc", 16, size=size,
                          duration=args.duration, group="tls", tls=True))
    return cells


def smoke_cells() -> list[Cell]:
    n = 8
    # The threads and TLS cells run protocol version 1 only, to keep the smoke run short; the
    # version makes no difference to the threads or to TLS.
    quick = dict(duration=0.2, versions=(1,))
    return [
        Cell(f"bulk-up/s{n}", "bulk-up", n, bytes_per_stream=1_000_000),
        Cell(f"bulk-down/s{n}", "bulk-down", n, bytes_per_stream=1_000_000),
        Cell(f"rpc/64B/s{n}", "rpc", n, size=64, duration=0.3),
        Cell(f"rpc/16KiB/s{n}", "rpc", n, size=16 * KIB, duration=0.3),
        Cell(f"open/s{n}", "open", n, duration=0.3),
        Cell("idle/s64", "idle", 64, duration=0.3),
        Cell("threads/rpc/64B/s8c4/t2", "rpc", 8, size=64, group="threads", conns=4, threads=2,
             **quick),
        Cell("threads/bulk-up/s4c4/t2", "bulk-up", 4, bytes_per_stream=1_000_000,
             group="threads", conns=4, threads=2, versions=(1,)),
        Cell("threads/open/s8c4/t2", "open", 8, group="threads", conns=4, threads=2, **quick),
        Cell("tls/bulk-up/s4", "bulk-up", 4, bytes_per_stream=1_000_000, group="tls", tls=True,
             versions=(1,)),
        Cell("tls/bulk-down/s4", "bulk-down", 4, bytes_per_stream=1_000_000, group="tls",
             tls=True, versions=(1,)),
        Cell("tls/rpc/64B/s4", "rpc", 4, size=64, group="tls", tls=True, **quick),
        Cell("tls/open/s4", "open", 4, group="tls", tls=True, **quick),
        Cell("tls/idle/s16", "idle", 16, group="tls", tls=True, **quick),
    ]


def select_cells(cells: list[Cell], only: list[str]) -> list[Cell]:
    if not only:
        return cells
    """A pattern selects a cell by its id, by a leading part of the id up to a "/" (`rpc`,
    `rpc/64B`) or by a glob (`rpc/*/s256`)."""
    def hit(cell_id: str, pat: str) -> bool:
        pat = pat.strip().rstrip("/")
        return (cell_id == pat or cell_id.startswith(pat + "/")
                or fnmatch.fnmatchcase(cell_id, pat))

    return [c for c in cells if any(hit(c.id, pat) for pat in only)]


# ---------------------------------------------------------------------------------------------
# The result line (section 6 of the contract).

BASE_FIELDS = ["tool", "impl", "mode", "transport", "version", "streams", "conns", "size",
               "bytes_per_stream", "duration_s"]
MODE_FIELDS = {
    "bulk-up": ["total_bytes", "mb_per_s"],
    "bulk-down": ["total_bytes", "mb_per_s"],
    "rpc": ["ops", "ops_per_s", "mean_us", "p50_us", "p90_us", "p99_us", "max_us"],
    "open": ["ops", "streams_per_s", "mean_us", "p50_us", "p90_us", "p99_us", "max_us"],
    "idle": ["held_streams", "client_rss_base", "client_rss_idle", "client_rss_per_stream",
             "server_rss_base", "server_rss_idle", "server_rss_per_stream",
             "server_active_streams"],
}
TAIL_FIELDS = ["elapsed_s", "client_cpu_s", "server_cpu_s", "server_rss", "client_rss", "ok",
               "errors"]
STRING_FIELDS = {"tool", "impl", "mode", "transport", "error"}
INT_FIELDS = {"version", "held_streams", "server_active_streams", "server_rss", "client_rss",
              "errors", "streams", "conns", "size", "bytes_per_stream", "total_bytes", "ops",
              "client_rss_base", "client_rss_idle", "server_rss_base", "server_rss_idle"}


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_line(obj: Any, cell: Cell, pairing: Pairing, version: int) -> list[str]:
    """Problems of one parsed result line against the contract and the requested cell."""
    if not isinstance(obj, dict):
        return ["result line is not a JSON object"]
    problems: list[str] = []
    expected = BASE_FIELDS + MODE_FIELDS[cell.mode] + TAIL_FIELDS
    if obj.get("ok") is True:
        if list(obj.keys()) != expected:
            missing = [f for f in expected if f not in obj]
            extra = [f for f in obj if f not in expected]
            if missing:
                problems.append("missing fields: " + ", ".join(missing))
            if extra:
                problems.append("unexpected fields: " + ", ".join(extra))
            if not missing and not extra:
                problems.append("fields out of order")
    else:
        problems.append("ok is not true: " + str(obj.get("error", "no error message")))
        missing = [f for f in BASE_FIELDS + ["ok", "errors", "error"] if f not in obj]
        if missing:
            problems.append("missing fields: " + ", ".join(missing))
    for k, v in obj.items():
        if k in STRING_FIELDS:
            if not isinstance(v, str):
                problems.append(f"{k} is not a string")
        elif k == "ok":
            if not isinstance(v, bool):
                problems.append("ok is not a boolean")
        elif k in INT_FIELDS:
            if not (is_number(v) and float(v).is_integer()):
                problems.append(f"{k} is not an integer")
        elif not is_number(v):
            problems.append(f"{k} is not a number")
    if problems:
        return problems

    def want(name: str, value: Any) -> None:
        got = obj.get(name)
        same = (abs(got - value) < 1e-6) if is_number(got) and is_number(value) else got == value
        if not same:
            problems.append(f"{name} is {got!r}, expected {value!r}")

    want("tool", "smuxbench")
    want("mode", cell.mode)
    want("transport", "raw" if pairing.raw else "smux")
    want("version", 0 if pairing.raw else version)
    want("streams", cell.streams)
    want("conns", cell.streams if pairing.raw else cell.conns)
    want("size", cell.expected_size())
    bulk = cell.mode in ("bulk-up", "bulk-down")
    want("bytes_per_stream", cell.bytes_per_stream if bulk else 0)
    want("duration_s", 0 if bulk else cell.duration)
    want("errors", 0)
    if bulk:
        want("total_bytes", cell.streams * cell.bytes_per_stream)
    if cell.mode == "idle":
        want("held_streams", cell.streams)
        if obj["server_active_streams"] < cell.streams:
            problems.append("server_active_streams below the held streams")
    if cell.mode in ("rpc", "open") and obj["ops"] <= 0:
        problems.append("no completed operation")
    return problems


# ---------------------------------------------------------------------------------------------
# Processes. Every child gets PR_SET_PDEATHSIG, so even a killed script leaves no server behind;
# the normal path stops every server by PID in a finally block.

class BenchError(Exception):
    pass


@dataclass
class Pinning:
    enabled: bool
    server_cpu: int
    client_cpu: int
    allowed: tuple[int, ...] = ()  # the CPUs the script may use, ascending

    def prefix(self, side: str, cell: Cell) -> list[str]:
        if not self.enabled:
            return []
        if cell.threads:
            # N threads each: both processes share the first N CPUs, so N = 1 is one core for
            # the whole exchange and N = 2 two cores (Go's GOMAXPROCS is set by --threads).
            if cell.threads > len(self.allowed):
                return []
            return ["taskset", "-c", ",".join(map(str, self.allowed[:cell.threads]))]
        cpu = self.server_cpu if side == "server" else self.client_cpu
        return ["taskset", "-c", str(cpu)]


class Server:
    """One server process: started, its listening line read, stopped by PID."""

    def __init__(self, binary: Path, pairing: Pairing, cell: Cell, version: int, pin: Pinning,
                 log: Path):
        args = pin.prefix("server", cell) + [str(binary), "server", "--listen", f"{HOST}:0"]
        args += ["--raw"] if pairing.raw else ["--version", str(version)]
        args += list(pairing.extra) + cell.side_args()
        self.argv = args
        self.log_path = log
        self.extra_stdout = b""
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, env=bc.child_env(),
                                     preexec_fn=bc.child_setup)
        self.address = ""
        self.buffer = b""

    def wait_listening(self, timeout: float) -> str:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"server printed no listening line within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                raise BenchError(f"server exited before listening (status {self.proc.wait()})")
            self.buffer += chunk
        line, _, self.extra_stdout = self.buffer.partition(b"\n")
        try:
            obj = json.loads(line)
        except ValueError:
            raise BenchError(f"listening line is not JSON: {line[:200]!r}") from None
        if not isinstance(obj, dict) or list(obj.keys()) != ["listening", "pid"]:
            raise BenchError(f"listening line has wrong fields: {line[:200]!r}")
        address = obj["listening"]
        if not isinstance(address, str) or address.rpartition(":")[0] != HOST:
            raise BenchError(f"server listens on {address!r}, not on {HOST}")
        if obj["pid"] != self.proc.pid:
            raise BenchError(f"listening line says pid {obj['pid']}, process is {self.proc.pid}")
        self.address = address
        return address

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> tuple[bool, int | None]:
        """SIGTERM, then SIGKILL; returns (exited promptly on SIGTERM, exit status)."""
        prompt = True
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    prompt = False
                    self.proc.kill()
                    self.proc.wait(timeout)
            try:
                rest = self.proc.stdout.read()
                self.extra_stdout += rest or b""
            except (OSError, ValueError):
                pass
        finally:
            if self.proc.poll() is None:  # never leave it behind
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self._log.close()
        return prompt, self.proc.returncode

    def log_tail(self, n: int = 800) -> str:
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        return data[-n:].decode("utf-8", "replace")


def run_client(binary: Path, address: str, cell: Cell, pairing: Pairing, version: int,
               pin: Pinning, timeout: float) -> dict[str, Any]:
    args = pin.prefix("client", cell) + [str(binary), "client", "--connect", address]
    args += cell.client_args()
    args += ["--raw"] if pairing.raw else ["--version", str(version)]
    args += list(pairing.extra)
    return {"client_argv": args} | bc.run_to_end(args, timeout)


# ---------------------------------------------------------------------------------------------
# One run: fresh server, one client, validation.


def client_timeout(cell: Cell, args: argparse.Namespace) -> float:
    if args.client_timeout:
        return args.client_timeout
    t = 30.0 + 2 * cell.duration
    if cell.mode in ("bulk-up", "bulk-down"):
        t += cell.streams * cell.bytes_per_stream / 50e6  # 50 MB/s: far below any real speed
    if cell.mode == "idle":
        t += cell.streams / 1000.0
    return t


def one_run(cell: Cell, pairing: Pairing, version: int, args: argparse.Namespace,
            bins: dict[str, Path], pin: Pinning, logdir: Path, tag: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "cell": cell.id, "mode": cell.mode, "pairing": pairing.key,
        "version": 0 if pairing.raw else version, "client": pairing.client,
        "server": pairing.server, "ok": False,
    }
    problems: list[str] = []
    try:
        server = Server(bins[pairing.server], pairing, cell, version, pin,
                        logdir / f"{tag}.server.log")
    except OSError as e:
        rec["problems"] = [f"cannot start the server: {e}"]
        return rec
    rec["server_argv"] = server.argv
    try:
        address = server.wait_listening(30.0)
        res = run_client(bins[pairing.client], address, cell, pairing, version, pin,
                         client_timeout(cell, args))
        rec.update({k: res[k] for k in ("client_argv", "exit_code", "wall_s")})
        if res.get("timed_out"):
            problems.append(f"client timed out after {client_timeout(cell, args):g} s")
        lines = res["stdout"].splitlines()
        rec["line"] = lines[0] if lines else ""
        if len(lines) != 1:
            problems.append(f"client printed {len(lines)} lines on stdout, expected 1")
        obj = None
        if lines:
            try:
                obj = json.loads(lines[0])
            except ValueError:
                problems.append("result line is not valid JSON")
        if obj is not None:
            rec["result"] = obj
            problems += check_line(obj, cell, pairing, version)
            if res["exit_code"] is not None and res["exit_code"] != (0 if obj.get("ok") else 1):
                problems.append(f"client exit status {res['exit_code']} does not match ok")
        if not server.alive():
            problems.append(f"server died during the run (status {server.proc.returncode})")
        if problems:
            rec["client_stderr"] = res["stderr_tail"]
    except (BenchError, OSError) as e:
        problems.append(str(e))
    finally:
        prompt, status = server.stop()
    if not prompt:
        problems.append("server did not exit within 30 s of SIGTERM")
    if server.extra_stdout.strip():
        problems.append("server wrote more than the listening line to stdout")
    if problems:
        rec["problems"] = problems
        rec["server_stderr"] = server.log_tail()
    rec["ok"] = not problems
    return rec


# ---------------------------------------------------------------------------------------------
# Scheduling and estimates.


def run_list(cells: list[Cell], pairings: list[Pairing], versions: list[int],
             rounds: int) -> list[tuple[int, Cell, Pairing, int]]:
    """Round by round, cell by cell; inside a cell every pairing and version once, the order
    rotated from round to round so no pairing always runs first."""
    plan = []
    for r in range(rounds):
        for cell in cells:
            slot = [(p, 0) for p in pairings if p.raw and p.runs(cell, 0)]
            slot += [(p, v) for v in versions for p in pairings
                     if not p.raw and p.runs(cell, v)]
            k = (r * max(1, len(slot) // max(1, rounds))) % len(slot) if slot else 0
            slot = slot[k:] + slot[:k]
            plan += [(r, cell, p, v) for p, v in slot]
    return plan


def estimate_run(cell: Cell) -> float:
    """Seconds one run takes, server start and stop included (from trial runs: bulk runs
    at 0.8 to 4 GB/s, about 1.5 GB/s on average over the pairings)."""
    overhead = 0.03
    if cell.mode in ("bulk-up", "bulk-down"):
        speed = 0.8e9 if cell.tls or cell.threads == 1 else 1.5e9
        return overhead + 0.05 + cell.streams * cell.bytes_per_stream / speed
    if cell.mode == "idle":
        return overhead + 0.05 + cell.duration + cell.streams * 40e-6
    return overhead + 0.03 + cell.duration


display_path = bc.display_path
fmt_duration = bc.fmt_duration


# ---------------------------------------------------------------------------------------------
# Machine information.


def machine_info(pin: Pinning) -> dict[str, Any]:
    return bc.machine_info({"server_cpu": pin.server_cpu, "client_cpu": pin.client_cpu,
                            "threads_cells": "both processes on the first N CPUs"}
                           if pin.enabled else None)


# ---------------------------------------------------------------------------------------------
# Medians.


def median_table(runs: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    """(cell, version, pairing) -> {field: {median, values}} over the ok runs."""
    groups: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["cell"], r["version"], r["pairing"]), []).append(r)
    table = {}
    for key, rs in groups.items():
        mode = rs[0]["mode"]
        good = [r["result"] for r in rs if r["ok"]]
        entry: dict[str, Any] = {"runs": len(rs), "ok_runs": len(good)}
        for name in [m[0] for m in METRICS[mode]] + SECONDARY[mode]:
            values = [g[name] for g in good if is_number(g.get(name))]
            entry[name] = {"median": statistics.median(values) if values else None,
                           "values": values}
        table[key] = entry
    return table


def med(table, cell: str, version: int, pairing: str, name: str) -> float | None:
    raw = PAIRING_BY_KEY[pairing].raw
    entry = table.get((cell, 0 if raw else version, pairing))
    if not entry or name not in entry:
        return None
    return entry[name]["median"]


def spread(table, cell: str, version: int, pairing: str, name: str) -> float | None:
    raw = PAIRING_BY_KEY[pairing].raw
    entry = table.get((cell, 0 if raw else version, pairing))
    if not entry or name not in entry:
        return None
    v = entry[name]["values"]
    m = entry[name]["median"]
    if len(v) < 2 or not m:
        return None
    return (max(v) - min(v)) / abs(m)


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


# ---------------------------------------------------------------------------------------------
# Markdown.


def fmt_num(x: float | None) -> str:
    if x is None:
        return "\u2014"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


def fmt_bytes(n: int) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", KIB)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"


def fmt_ratio(x: float | None) -> str:
    return "\u2014" if x is None else f"{x:.2f}"


def cell_versions(cell: Cell, versions: list[int]) -> list[int]:
    return [v for v in versions if cell.versions is None or v in cell.versions]


def latency_table(table, rows: list[Cell], keys: list[str], versions: list[int],
                  labels: dict[str, str]) -> list[str]:
    """Median p50 / p99 per row (rpc and open cells) and pairing."""
    head = ["cell", "v"] + [labels[k] for k in keys]
    out = ["| " + " | ".join(head) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * len(keys)) + "|"]
    for c in rows:
        for v in cell_versions(c, versions):
            cols = []
            for k in keys:
                p50 = med(table, c.id, v, k, "p50_us")
                p99 = med(table, c.id, v, k, "p99_us")
                cols.append("\u2014" if p50 is None else f"{p50:,.0f} / {p99:,.0f}")
            out.append("| " + " | ".join([c.id, str(v)] + cols) + " |")
    return out + [""]


def threads_section(table, cells: list[Cell], keys: list[str], versions: list[int]) -> list[str]:
    """One row per cell, version and thread count; the scaling columns divide by the same
    cell's 1-thread figure."""
    rows = [c for c in cells if c.group == "threads"]
    if not rows:
        return []
    out = ["## Threads (both tools with `--threads N`; higher is better)", "",
           "Both processes run N threads and share the first N CPUs (`taskset`), so 1 thread "
           "is one core for client and server together and 2 threads are two cores. C++: N "
           "threads with one `io_context` each, the connections spread over them round-robin "
           "(a session and its streams stay on one thread); Go: `GOMAXPROCS=N`. rpc: round "
           "trips/s of 64 B messages, one stream per connection; bulk: MB/s, one stream per "
           "connection. \u00d71 thread: the figure over the same cell's 1-thread figure.", ""]
    head = (["cell", "v", "threads"] + [PAIRING_BY_KEY[k].label for k in keys]
            + ["C++/Go", "C++ \u00d71 thread", "Go \u00d71 thread", "spread"])
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(head) - 3)) + "|")
    bases = list(dict.fromkeys(c.id.rpartition("/t")[0] for c in rows))
    for base in bases:
        group = [c for c in rows if c.id.rpartition("/t")[0] == base]
        one = next((c for c in group if c.threads == 1), None)
        for v in cell_versions(group[0], versions):
            for c in group:
                name = METRICS[c.mode][0][0]
                vals = {k: med(table, c.id, v, k, name) for k in keys}

                def scaling(key: str) -> str:
                    if one is None or one is c:
                        return "\u2014"
                    return fmt_ratio(ratio(vals.get(key), med(table, one.id, v, key, name)))

                sp = [x for x in (spread(table, c.id, v, k, name) for k in keys) if x is not None]
                out.append("| " + " | ".join(
                    [base, str(v), str(c.threads)] + [fmt_num(vals[k]) for k in keys]
                    + [fmt_ratio(ratio(vals.get("cpp-cpp"), vals.get("go-go"))),
                       scaling("cpp-cpp"), scaling("go-go"),
                       f"{max(sp) * 100:.0f}%" if sp else "\u2014"]) + " |")
    return out + [""]


def tls_section(table, cells: list[Cell], keys: list[str], versions: list[int]) -> list[str]:
    # idle (a smoke cell only) has no figure that compares with raw TLS.
    rows = [c for c in cells if c.group == "tls" and c.mode != "idle"]
    if not rows:
        return []
    labels = {k: PAIRING_BY_KEY[k].label.replace("raw TCP", "raw TLS") for k in keys}
    out = ["## TLS (every connection over TLS; higher is better)", "",
           "Both tools with `--tls`: TLS 1.3, TLS_AES_128_GCM_SHA256, a self-signed ECDSA P-256 "
           "certificate made at the server's start. Raw TLS: one TLS connection per stream. "
           "C++/raw, Go/raw: over raw TLS run by the same tool and cell; C++/raw 1 conn: "
           "C++\u2194C++ over raw TLS on one connection (the `s1` cell of the same mode). "
           "Bulk in MB/s, rpc in round trips/s, open in streams/s.", ""]
    head = (["cell", "v"] + [labels[k] for k in keys]
            + ["C++/raw", "C++/Go", "Go/raw", "C++/raw 1 conn", "spread"])
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
    by_id = {c.id: c for c in rows}
    for c in rows:
        name = METRICS[c.mode][0][0]
        one_conn = by_id.get(f"tls/{c.mode}/s1") if c.mode in ("bulk-up", "bulk-down") else None
        for v in cell_versions(c, versions):
            vals = {k: med(table, c.id, v, k, name) for k in keys}
            raw_one = med(table, one_conn.id, v, "raw-cpp", name) if one_conn else None
            sp = [x for x in (spread(table, c.id, v, k, name) for k in keys) if x is not None]
            out.append("| " + " | ".join(
                [c.id, str(v)] + [fmt_num(vals[k]) for k in keys]
                + [fmt_ratio(ratio(vals.get("cpp-cpp"), vals.get("raw-cpp"))),
                   fmt_ratio(ratio(vals.get("cpp-cpp"), vals.get("go-go"))),
                   fmt_ratio(ratio(vals.get("go-go"), vals.get("raw-go"))),
                   fmt_ratio(ratio(vals.get("cpp-cpp"), raw_one)),
                   f"{max(sp) * 100:.0f}%" if sp else "\u2014"]) + " |")
    out.append("")
    lat_rows = [c for c in rows if c.mode in ("rpc", "open")]
    if lat_rows:
        out += ["Latency over TLS (median of the rounds' p50 / p99, \u00b5s):", ""]
        out += latency_table(table, lat_rows, keys, versions, labels)
    return out


def markdown(doc: dict[str, Any], table, all_cells: list[Cell], pairings: list[Pairing],
             versions: list[int], chart_name: str | None) -> str:
    m = doc["machine"]
    s = doc["settings"]
    all_keys = [p.key for p in pairings]
    cells = [c for c in all_cells if c.group == "matrix"]

    def keys_for(modes, group: str = "matrix") -> list[str]:
        return [k for k in all_keys if group in PAIRING_BY_KEY[k].groups and (
            PAIRING_BY_KEY[k].modes is None or set(PAIRING_BY_KEY[k].modes) & set(modes))]

    out = ["# smux benchmark comparison", ""]
    out.append(f"- CPU: {m.get('cpu_model', '?')} ({m.get('cpus_online')} CPUs); "
               f"kernel {m['kernel'].split()[1] if m.get('kernel') else '?'}")
    commit = m.get("git_commit") or "?"
    out.append(f"- date: {m['date']}; commit {commit[:12]}"
               + (" (with local changes)" if m.get("git_dirty") else ""))
    pin = m.get("pinning")
    out.append("- " + (f"server pinned to CPU {pin['server_cpu']}, client to CPU "
                       f"{pin['client_cpu']}" if pin else "not pinned")
               + f"; load average at start {m['loadavg_start'][0]:.2f}, at end "
               f"{m.get('loadavg_end', [0])[0]:.2f}")
    out.append(f"- {s['rounds']} round(s), median quoted; rpc/open {s['duration_s']:g} s, "
               f"bulk {fmt_bytes(s['bulk_bytes'])} per cell, idle held "
               f"{s['idle_duration_s']:g} s; {doc['summary']['runs']} runs, "
               f"{doc['summary']['failed']} failed, {fmt_duration(doc['summary']['wall_s'])}")
    impls = doc.get("impls", {})
    if impls:
        out.append("- implementations: " + ", ".join(f"{IMPL_NAMES[k]} `{v}`"
                                                    for k, v in sorted(impls.items())))
    out += ["", "Pairings are client\u2192server. Ratios: C++/raw = C++\u2194C++ over raw TCP "
            "run by the C++ tool, Go/raw = Go\u2194Go over raw TCP run by the Go tool, C++/Go = "
            "C++\u2194C++ over Go\u2194Go. Raw TCP has no smux version: both version rows show "
            "the same raw figure. Spread = the largest (max \u2212 min) / median among the "
            "row's pairings."]
    if "cpp-cpp-at" in all_keys and cells:
        out += ["", "C++\u2194C++ autotune: both sides run with the library's opt-in receive-"
                "window autotuning (`--window-autotune`, config `stream_window_autotune`, v2 "
                "only), beyond the contract's default config; C++ at/Go = that figure over "
                "Go\u2194Go."]
    if "cpp-cpp-spin" in all_keys and cells:
        out += ["", "Every C++ figure comes from a plain `io_context::run()`. C++\u2194C++ "
                "spinning: both sides poll their event loop for 50 \u00b5s before blocking "
                "(`--spin-us 50`, an opt-in of the tool), rpc and open cells only."]
    out += [""]
    if chart_name:
        out += [f"![ratios to raw TCP]({chart_name})", ""]

    groups = [("Bulk throughput (MB/s, higher is better)", ("bulk-up", "bulk-down")),
              ("Request/response (round trips/s, higher is better)", ("rpc",)),
              ("Stream open rate (streams/s, higher is better)", ("open",))]
    for title, modes in groups:
        rows = [c for c in cells if c.mode in modes]
        if not rows:
            continue
        out += [f"## {title}", ""]
        keys = keys_for(modes)
        autotuned = "cpp-cpp-at" in keys
        head = ["cell", "v"] + [PAIRING_BY_KEY[k].label for k in keys] + [
            "C++/raw", "C++/Go", "Go/raw"] + (["C++ at/Go"] if autotuned else []) + ["spread"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
        for c in rows:
            name = METRICS[c.mode][0][0]
            for v in versions:
                vals = {k: med(table, c.id, v, k, name) for k in keys}
                r_cpp = ratio(vals.get("cpp-cpp"), vals.get("raw-cpp"))
                r_cg = ratio(vals.get("cpp-cpp"), vals.get("go-go"))
                r_go = ratio(vals.get("go-go"), vals.get("raw-go"))
                sp = [spread(table, c.id, v, k, name) for k in keys]
                sp = [x for x in sp if x is not None]
                row = [c.id, str(v)] + [fmt_num(vals[k]) for k in keys] + [
                    fmt_ratio(r_cpp), fmt_ratio(r_cg), fmt_ratio(r_go)]
                if autotuned:
                    row.append(fmt_ratio(ratio(vals.get("cpp-cpp-at"), vals.get("go-go"))))
                row.append(f"{max(sp) * 100:.0f}%" if sp else "\u2014")
                out.append("| " + " | ".join(row) + " |")
        out.append("")

    lat_rows = [c for c in cells if c.mode in ("rpc", "open")]
    if lat_rows:
        out += ["## Latency (median of the rounds' p50 / p99, \u00b5s, lower is better)", ""]
        keys = keys_for(("rpc", "open"))
        out += latency_table(table, lat_rows, keys, versions,
                             {k: PAIRING_BY_KEY[k].label for k in keys})

    idle_rows = [c for c in cells if c.mode == "idle"]
    if idle_rows:
        out += ["## Idle memory (RSS bytes per held stream, lower is better)", "",
                "Server: growth of the server's RSS while it holds the streams; client: the "
                "same for the client. In the mixed pairings the server column is the server's "
                "implementation (C++\u2192Go: the Go server).", ""]
        keys = keys_for(("idle",))
        head = ["cell", "v", "side"] + [PAIRING_BY_KEY[k].label for k in keys] + ["C++/Go"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---", "---", "---"] + ["---:"] * (len(keys) + 1)) + "|")
        for c in idle_rows:
            for v in versions:
                for name, side in (("server_rss_per_stream", "server"),
                                   ("client_rss_per_stream", "client")):
                    vals = {k: med(table, c.id, v, k, name) for k in keys}
                    row = [c.id, str(v), side] + [fmt_num(vals[k]) for k in keys] + [
                        fmt_ratio(ratio(vals.get("cpp-cpp"), vals.get("go-go")))]
                    out.append("| " + " | ".join(row) + " |")
        out.append("")

    all_modes = tuple(METRICS)
    out += threads_section(table, all_cells, keys_for(all_modes, "threads"), versions)
    out += tls_section(table, all_cells, keys_for(all_modes, "tls"), versions)

    failed = [r for r in doc["runs"] if not r["ok"]]
    if failed:
        out += ["## Failed runs", ""]
        for r in failed:
            out.append(f"- round {r['round'] + 1}, {r['cell']} v{r['version']} "
                       f"{PAIRING_BY_KEY[r['pairing']].label}: "
                       + "; ".join(r.get("problems", [])))
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Chart.


def chart(path: Path, table, cells: list[Cell], versions: list[int]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tput = [c for c in cells if c.mode != "idle"]
    idle = [c for c in cells if c.mode == "idle"]
    panels = (1 if tput else 0) + (1 if idle else 0)
    if panels == 0:
        return
    width = max(8.0, 0.9 * max(len(tput), 2 * len(idle)) + 3)
    fig, axes = plt.subplots(panels, 1, figsize=(width, 4.6 * panels), squeeze=False)
    axes = [a[0] for a in axes]
    colors = {("cpp", 1): "#1f5fa8", ("cpp", 2): "#6fa3de", ("go", 1): "#2e8b57",
              ("go", 2): "#8fd1a8"}

    ax_i = 0
    if tput:
        ax = axes[ax_i]
        ax_i += 1
        series = [(f"{impl}-{impl}", f"raw-{impl}", v,
                   f"{'C++' if impl == 'cpp' else 'Go'}\u2194{'C++' if impl == 'cpp' else 'Go'}"
                   f" v{v}", colors.get((impl, v)))
                  for impl in ("cpp", "go") for v in versions]
        if 2 in versions and any(k[2] == "cpp-cpp-at" for k in table):
            series.append(("cpp-cpp-at", "raw-cpp", 2, "C++\u2194C++ v2 autotune", "#0b2e5c"))
        bw = 0.8 / len(series)
        for j, (key, raw_key, v, label, color) in enumerate(series):
            ys = []
            for c in tput:
                name = METRICS[c.mode][0][0]
                ys.append(ratio(med(table, c.id, v, key, name), med(table, c.id, v, raw_key, name)))
            xs = [i + (j - (len(series) - 1) / 2) * bw for i in range(len(tput))]
            ax.bar([x for x, y in zip(xs, ys) if y is not None],
                   [y for y in ys if y is not None], bw, label=label, color=color)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_ylim(0, max([1.0] + [p.get_height() for p in ax.patches]) * 1.2)
        ax.set_xticks(range(len(tput)))
        ax.set_xticklabels([c.id for c in tput], rotation=30, ha="right")
        ax.set_ylabel("smux / raw TCP (same tool)")
        ax.set_title("Throughput relative to raw TCP (median; higher is better)")
        ax.legend(ncol=len(series), fontsize="small")
        ax.grid(axis="y", alpha=0.3)

    if idle:
        ax = axes[ax_i]
        groups = [(c, side) for c in idle for side in ("server", "client")]
        series = [(impl, v) for impl in ("cpp", "go") for v in versions]
        bw = 0.8 / len(series)
        for j, (impl, v) in enumerate(series):
            ys = [med(table, c.id, v, f"{impl}-{impl}", f"{side}_rss_per_stream")
                  for c, side in groups]
            xs = [i + (j - (len(series) - 1) / 2) * bw for i in range(len(groups))]
            label = f"{'C++' if impl == 'cpp' else 'Go'}\u2194{'C++' if impl == 'cpp' else 'Go'}" \
                    f" v{v}"
            ax.bar([x for x, y in zip(xs, ys) if y is not None],
                   [y for y in ys if y is not None], bw, label=label,
                   color=colors.get((impl, v)))
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels([f"{c.id} {side}" for c, side in groups])
        ax.set_ylim(0, max([1.0] + [p.get_height() for p in ax.patches]) * 1.2)
        ax.set_ylabel("RSS bytes per held stream")
        ax.set_title("Idle memory per stream (median; lower is better)")
        ax.legend(ncol=len(series), fontsize="small")
        ax.grid(axis="y", alpha=0.3)

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------------------------
# Main.


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": KIB, "M": MIB, "G": GIB}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    value = float(t) * mult
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text}")
    return int(value)


def parse_list(text: str, conv=int) -> list:
    return [conv(x) for x in text.split(",") if x.strip()]


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Compare the C++ smux-bench with the Go smuxbench (BENCH_PROTOCOL.md).")
    p.add_argument("--cpp", type=Path, default=DEFAULT_CPP, help="C++ smux-bench binary")
    p.add_argument("--go", type=Path, default=DEFAULT_GO, help="Go smuxbench binary")
    p.add_argument("--rounds", type=int, default=None, help="rounds per cell (default 3)")
    p.add_argument("--duration", type=float, default=None,
                   help="rpc/open seconds of load (default 2)")
    p.add_argument("--idle-duration", type=float, default=None,
                   help="idle: seconds the streams are held before sampling (default 1)")
    p.add_argument("--bulk-bytes", type=parse_size, default=None,
                   help="bulk: total bytes per cell, split over the streams (default 2G)")
    p.add_argument("--idle-streams", type=parse_list, default=None,
                   help="idle: held streams, comma-separated (default 4096,10000)")
    p.add_argument("--groups", type=lambda s: parse_list(s, str), default=list(ALL_GROUPS),
                   help="groups of cells, comma-separated subset of " + ",".join(ALL_GROUPS)
                        + " (default all; --smoke: all, tiny)")
    p.add_argument("--threads", type=parse_list, default=[1, 2],
                   help="threads group: thread counts, comma-separated (default 1,2)")
    p.add_argument("--versions", type=parse_list, default=[1, 2],
                   help="smux versions, comma-separated (default 1,2)")
    p.add_argument("--pairings", type=lambda s: parse_list(s, str),
                   default=[x.key for x in PAIRINGS],
                   help="comma-separated subset of " + ",".join(x.key for x in PAIRINGS))
    p.add_argument("--only", type=lambda s: parse_list(s, str), default=[],
                   help="cells to run: comma-separated ids, prefixes or globs "
                        "(e.g. rpc, bulk-up/s16, 'rpc/*/s256'); see --list")
    p.add_argument("--list", action="store_true", help="print the cells and exit")
    p.add_argument("--quick", action="store_true",
                   help="tiny real run (1 round, short durations) into bench/results/tmp/")
    p.add_argument("--smoke", action="store_true",
                   help="contract check for CI: every pairing and mode once, tiny sizes")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where results go (default bench/results; --quick: bench/results/tmp; "
                        "--smoke: a new temporary directory)")
    p.add_argument("--name", default=None,
                   help="base name of the result files (default latest; --smoke: smoke)")
    p.add_argument("--no-chart", action="store_true", help="skip the PNG chart")
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    p.add_argument("--server-cpu", type=int, default=1)
    p.add_argument("--client-cpu", type=int, default=0)
    p.add_argument("--client-timeout", type=float, default=None,
                   help="seconds before a client is killed (default: from the cell)")
    return p


def apply_defaults(args: argparse.Namespace) -> None:
    if args.smoke:
        defaults = dict(rounds=1, duration=0.3, idle_duration=0.3, bulk_bytes=8_000_000,
                        idle_streams=[64])
    elif args.quick:
        defaults = dict(rounds=1, duration=0.5, idle_duration=0.3, bulk_bytes=256 * MIB,
                        idle_streams=[4096, 10000])
    else:
        defaults = dict(rounds=3, duration=2.0, idle_duration=1.0, bulk_bytes=2 * GIB,
                        idle_streams=[4096, 10000])
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.name is None:
        args.name = "smoke" if args.smoke else "latest"
    if args.smoke and args.client_timeout is None:
        args.client_timeout = 30.0


def main() -> int:
    parser = make_parser()
    args = parser.parse_args()
    apply_defaults(args)
    if args.smoke and args.quick:
        parser.error("--smoke and --quick exclude each other")
    if args.rounds < 1 or args.duration <= 0 or args.idle_duration < 0:
        parser.error("--rounds must be >= 1, --duration > 0, --idle-duration >= 0")
    if any(v not in (1, 2) for v in args.versions) or not args.versions:
        parser.error("--versions takes 1 and/or 2")
    unknown = [k for k in args.pairings if k not in PAIRING_BY_KEY]
    if unknown or not args.pairings:
        parser.error("unknown pairing(s): " + ", ".join(unknown))
    pairings = [p for p in PAIRINGS if p.key in args.pairings]
    unknown = [g for g in args.groups if g not in ALL_GROUPS]
    if unknown or not args.groups:
        parser.error("unknown group(s): " + ", ".join(unknown))
    if not args.threads or any(n < 1 for n in args.threads):
        parser.error("--threads takes thread counts of at least 1")

    if args.smoke:
        cells = smoke_cells()
    else:
        cells = matrix_cells(args) + threads_cells(args) + tls_cells(args)
    cells = [c for c in cells if c.group in args.groups]
    cells = select_cells(cells, args.only)
    if not cells:
        parser.error("--only selects no cell (see --list)")
    if args.list:
        for c in cells:
            print(f"{c.id:<28} client {' '.join(c.client_args())}")
        plan = run_list(cells, pairings, args.versions, args.rounds)
        print(f"{len(plan)} runs ({len(pairings)} pairings, versions "
              f"{','.join(map(str, args.versions))}, {args.rounds} rounds), estimated "
              f"{fmt_duration(sum(estimate_run(c) for _, c, _, _ in plan))}")
        return 0

    bins = {"cpp": args.cpp.resolve(), "go": args.go.resolve()}
    for k in {p.client for p in pairings} | {p.server for p in pairings}:
        if not os.access(bins[k], os.X_OK):
            print(f"error: {IMPL_NAMES[k]} binary not found: {bins[k]} "
                  "(bench/compare.sh builds both)", file=sys.stderr)
            return 2

    want_chart = not args.smoke and not args.no_chart
    if want_chart:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("error: the chart needs matplotlib (Debian: python3-matplotlib, installed by "
                  "scripts/install-deps.sh; run with /usr/bin/python3), or pass --no-chart",
                  file=sys.stderr)
            return 2

    allowed = os.sched_getaffinity(0)
    pin = Pinning(not args.no_pin, args.server_cpu, args.client_cpu, tuple(sorted(allowed)))
    if pin.enabled and not {pin.server_cpu, pin.client_cpu} <= allowed:
        print(f"warning: CPUs {pin.client_cpu} and {pin.server_cpu} are not both available "
              f"(allowed: {sorted(allowed)}); running unpinned", file=sys.stderr)
        pin.enabled = False
    if pin.enabled and pin.server_cpu == pin.client_cpu:
        parser.error("--server-cpu and --client-cpu must differ")

    if args.out_dir is not None:
        out_dir = args.out_dir
    elif args.smoke:
        out_dir = Path(tempfile.mkdtemp(prefix="smux-bench-smoke-"))
    elif args.quick:
        out_dir = REPO / "bench" / "results" / "tmp"
    else:
        out_dir = REPO / "bench" / "results"

    plan = run_list(cells, pairings, args.versions, args.rounds)
    estimate = sum(estimate_run(c) for _, c, _, _ in plan)
    print(f"{len(cells)} cell(s) x {len(args.versions)} version(s), {len(pairings)} pairing(s), "
          f"{args.rounds} round(s): {len(plan)} runs, estimated {fmt_duration(estimate)}",
          flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)

    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    info = machine_info(pin)
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="smux-compare-") as logdir:
        try:
            for i, (r, cell, pairing, version) in enumerate(plan):
                rec = one_run(cell, pairing, version, args, bins, pin, Path(logdir), f"run{i}")
                rec["round"] = r
                runs.append(rec)
                print(progress_line(i, len(plan), rec, started, estimate), flush=True)
                if not rec["ok"]:
                    for prob in rec.get("problems", []):
                        print(f"      {prob}", flush=True)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted; writing what was measured", file=sys.stderr)

    wall = time.monotonic() - started
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    failed = [r for r in runs if not r["ok"]]
    impls = {}
    for r in runs:
        impl = r.get("result", {}).get("impl")
        if impl:
            impls.setdefault(r["client"], impl)
    table = median_table(runs)
    doc = {
        "tool": "bench/compare.py",
        "kind": "smoke" if args.smoke else ("quick" if args.quick else "matrix"),
        "machine": info,
        "settings": {
            "rounds": args.rounds, "duration_s": args.duration,
            "idle_duration_s": args.idle_duration, "bulk_bytes": args.bulk_bytes,
            "idle_streams": args.idle_streams, "versions": args.versions,
            "groups": args.groups, "threads": args.threads,
            "pairings": [p.key for p in pairings], "only": args.only,
            "binaries": {k: display_path(v) for k, v in bins.items()},
        },
        "impls": impls,
        "cells": [c.__dict__ for c in cells],
        "summary": {"runs": len(runs), "planned": len(plan), "failed": len(failed),
                    "interrupted": interrupted, "wall_s": round(wall, 1),
                    "estimated_s": round(estimate, 1)},
        "medians": [{"cell": k[0], "version": k[1], "pairing": k[2], **v}
                    for k, v in sorted(table.items())],
        "runs": runs,
    }

    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{args.name}.json"
    md_path = out_dir / f"{args.name}.md"
    png_path = out_dir / f"{args.name}.png"
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    chart_ok = False
    if want_chart and runs:
        try:
            chart(png_path, table, [c for c in cells if c.group == "matrix"], args.versions)
            chart_ok = png_path.exists()
        except Exception as e:  # the tables matter more than the picture
            print(f"warning: chart failed: {e}", file=sys.stderr)
    md_path.write_text(markdown(doc, table, cells, pairings, args.versions,
                                png_path.name if chart_ok else None) + "\n")
    print(f"wrote {json_path}, {md_path}" + (f", {png_path}" if chart_ok else ""))
    print(f"{len(runs)} runs in {fmt_duration(wall)} (estimated {fmt_duration(estimate)})")
    passed = len(runs) - len(failed)
    label = "smoke" if args.smoke else "runs"
    print(f"{label}: {passed} passed, {len(failed)} failed")
    if interrupted:
        return 130
    return 1 if failed else 0


def progress_line(i: int, n: int, rec: dict[str, Any], started: float, estimate: float) -> str:
    res = rec.get("result", {})
    figure = ""
    if rec["ok"]:
        for name, unit, _ in METRICS[rec["mode"]]:
            figure += f" {fmt_num(res.get(name))} {unit}"
    else:
        figure = " FAILED"
    elapsed = time.monotonic() - started
    return (f"[{i + 1:>{len(str(n))}}/{n}] r{rec['round'] + 1} {rec['cell']:<16} "
            f"v{rec['version']} {rec['pairing']:<7}{figure} ({rec.get('wall_s', 0):.1f} s, "
            f"{fmt_duration(elapsed)} of ~{fmt_duration(estimate)})")


if __name__ == "__main__":
    sys.exit(main())
