#!/usr/bin/env python3
"""Measures one KCP link through udp-relay: the C++ smux-kcp-bench against the Go kcpbench
(kcp-go), with the same KCP parameters, at several loss rates with added delay.

For each loss level and round, every pairing (client->server: C++->C++, Go->Go, C++->Go,
Go->C++) runs once with a fresh server and a fresh relay, the order of the pairings rotated
from round to round. Each run records the client's goodput and the CPU time of client and
server; the tables quote the medians over the rounds and the C++/Go ratios. See bench/README.md,
section "KCP link".

`--smoke` checks the contract instead (every pairing at 0 % and 5 % loss, a few MB, 1 round)
and writes only to a temporary directory. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_common as bc  # noqa: E402

REPO = bc.REPO
DEFAULT_CPP = REPO / "build" / "release" / "bench" / "kcp" / "smux-kcp-bench"
DEFAULT_GO = REPO / "build" / "bench-go" / "kcpbench-go"
DEFAULT_RELAY = REPO / "build" / "release" / "tests" / "tools" / "udp_relay" / "udp-relay"
HOST = "127.0.0.1"
MIB = 1024 * 1024
IMPL_LABEL = {"cpp": "C++", "go": "Go"}

# ---------------------------------------------------------------------------------------------
# Pairings and the plan.


@dataclass(frozen=True)
class Pairing:
    client: str  # "cpp" or "go"
    server: str

    @property
    def key(self) -> str:
        return f"{self.client}-{self.server}"

    @property
    def label(self) -> str:
        return f"{IMPL_LABEL[self.client]}\u2192{IMPL_LABEL[self.server]}"


PAIRINGS = [Pairing("cpp", "cpp"), Pairing("go", "go"), Pairing("cpp", "go"),
            Pairing("go", "cpp")]
PAIRING_BY_KEY = {p.key: p for p in PAIRINGS}


def run_plan(levels: list[float], pairings: list[Pairing],
             rounds: int) -> list[tuple[int, int, Pairing]]:
    """(round, level index, pairing): round by round, level by level, every pairing of a level
    back to back, their order rotated from round to round so that no pairing always runs
    first after a level change."""
    plan = []
    for r in range(rounds):
        for li in range(len(levels)):
            k = r % len(pairings)
            for p in pairings[k:] + pairings[:k]:
                plan.append((r, li, p))
    return plan


# ---------------------------------------------------------------------------------------------
# The lines of the tools (bench/README.md, "KCP link").

PARAM_FIELDS = ["crypt", "datashard", "parityshard", "mode", "nodelay", "interval", "resend",
                "nc", "mtu", "sndwnd", "rcvwnd", "sockbuf", "acknodelay", "stream"]
KCP_FIELDS = ["datagrams_in", "datagrams_out", "segments_in", "segments_out", "retransmits",
              "fast_retransmits", "early_retransmits", "timeout_retransmits",
              "repeat_segments", "fec_recovered", "send_dropped", "srtt_ms", "rto_ms"]
CLIENT_FIELDS = ["tool", "role", "impl", "bytes", "seconds", "mb_per_s", "cpu_s", "cpu_user_s",
                 "cpu_sys_s", "cpu_s_per_mb", "server_bytes", "server_mismatches", "chunk",
                 "params", "kcp", "ok", "error"]
SERVER_FIELDS = ["tool", "role", "impl", "conv", "bytes", "expected", "mismatches", "seconds",
                 "cpu_s", "cpu_user_s", "cpu_sys_s", "cpu_s_per_mb", "params", "kcp", "ok",
                 "error"]


def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_fields(obj: Any, fields: list[str], what: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{what} is not a JSON object"]
    if list(obj) == fields:
        return []
    missing = [f for f in fields if f not in obj]
    extra = [f for f in obj if f not in fields]
    if missing or extra:
        return [f"{what}: missing fields {missing}, unexpected fields {extra}"]
    return [f"{what}: fields out of order"]


def expected_params(args: argparse.Namespace, role: str) -> dict[str, Any]:
    wnd = (args.client_wnd if role == "client" else args.server_wnd)
    return {"crypt": args.crypt, "datashard": args.fec[0], "parityshard": args.fec[1],
            "mode": args.mode, "mtu": args.mtu, "sndwnd": wnd[0], "rcvwnd": wnd[1],
            "sockbuf": args.sockbuf, "acknodelay": args.acknodelay, "stream": True}


def check_common(obj: dict[str, Any], role: str, args: argparse.Namespace) -> list[str]:
    problems = []
    if obj.get("tool") != "kcpbench" or obj.get("role") != role:
        problems.append(f"{role} line: tool/role are {obj.get('tool')!r}/{obj.get('role')!r}")
    if obj.get("ok") is not True or obj.get("error") != "":
        problems.append(f"{role} line: not ok: {obj.get('error')!r}")
    params = obj.get("params")
    problems += check_fields(params, PARAM_FIELDS, f"{role} params")
    if isinstance(params, dict):
        for k, v in expected_params(args, role).items():
            if params.get(k) != v:
                problems.append(f"{role} params: {k} is {params.get(k)!r}, expected {v!r}")
    problems += check_fields(obj.get("kcp"), KCP_FIELDS, f"{role} kcp")
    for k in ("seconds", "cpu_s", "cpu_user_s", "cpu_sys_s", "cpu_s_per_mb"):
        if not is_number(obj.get(k)) or obj[k] < 0:
            problems.append(f"{role} line: {k} is not a non-negative number")
    return problems


def check_client(obj: Any, args: argparse.Namespace) -> list[str]:
    problems = check_fields(obj, CLIENT_FIELDS, "client line")
    if problems and not isinstance(obj, dict):
        return problems
    problems += check_common(obj, "client", args)
    for k, v in (("bytes", args.bytes), ("server_bytes", args.bytes), ("server_mismatches", 0),
                 ("chunk", args.chunk)):
        if obj.get(k) != v:
            problems.append(f"client line: {k} is {obj.get(k)!r}, expected {v!r}")
    if not is_number(obj.get("mb_per_s")) or obj["mb_per_s"] <= 0:
        problems.append("client line: mb_per_s is not a positive number")
    return problems


def check_server(obj: Any, args: argparse.Namespace) -> list[str]:
    problems = check_fields(obj, SERVER_FIELDS, "server line")
    if problems and not isinstance(obj, dict):
        return problems
    problems += check_common(obj, "server", args)
    for k, v in (("bytes", args.bytes), ("expected", args.bytes), ("mismatches", 0)):
        if obj.get(k) != v:
            problems.append(f"server line: {k} is {obj.get(k)!r}, expected {v!r}")
    return problems


# ---------------------------------------------------------------------------------------------
# Processes. Every child gets PR_SET_PDEATHSIG, so even a killed script leaves none behind;
# the normal path stops each one by its PID in a finally block.

class BenchError(Exception):
    pass


class Proc:
    """A long-running child (server or relay): JSON lines read from its stdout, stopped by
    PID with SIGTERM, then SIGKILL."""

    def __init__(self, argv: list[str], log: Path):
        self.argv = argv
        self.log_path = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._log, env=bc.child_env(),
                                     preexec_fn=bc.child_setup)
        self.buffer = b""

    def read_line(self, timeout: float, what: str) -> dict[str, Any]:
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"{what}: no line within {timeout:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                raise BenchError(f"{what}: the process exited (status {self.proc.wait()})")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        try:
            obj = json.loads(line)
        except ValueError:
            raise BenchError(f"{what}: not JSON: {line[:200]!r}") from None
        if not isinstance(obj, dict):
            raise BenchError(f"{what}: not a JSON object: {line[:200]!r}")
        return obj

    def cpu_seconds(self) -> float | None:
        """utime + stime from /proc/PID/stat (clock ticks), while it runs."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout: float = 10.0) -> tuple[bool, int | None, bytes]:
        """SIGTERM, then SIGKILL; returns (exited promptly, exit status, the rest of stdout)."""
        prompt = True
        rest = b""
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
                rest = self.buffer + (self.proc.stdout.read() or b"")
            except (OSError, ValueError):
                pass
        finally:
            if self.proc.poll() is None:  # never leave it behind
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self._log.close()
        return prompt, self.proc.returncode, rest

    def log_tail(self, n: int = 800) -> str:
        try:
            return self.log_path.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


run_client = bc.run_to_end


def udp_counters() -> dict[str, int]:
    """The kernel's UDP counters (/proc/net/snmp): buffer overflows show up here."""
    try:
        lines = [ln.split() for ln in Path("/proc/net/snmp").read_text().splitlines()
                 if ln.startswith("Udp:")]
        return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}
    except (OSError, IndexError, ValueError):
        return {}


# ---------------------------------------------------------------------------------------------
# One run: fresh server, fresh relay, one client, validation.


@dataclass
class Pinning:
    enabled: bool
    client_cpu: int
    server_cpu: int
    relay_cpu: int | None  # None: the relay is not pinned

    def prefix(self, who: str) -> list[str]:
        cpu = {"client": self.client_cpu, "server": self.server_cpu,
               "relay": self.relay_cpu}[who]
        if not self.enabled or cpu is None:
            return []
        return ["taskset", "-c", str(cpu)]


def link_flags(args: argparse.Namespace, role: str) -> list[str]:
    wnd = args.client_wnd if role == "client" else args.server_wnd
    flags = ["--crypt", args.crypt, "--mode", args.mode, "--mtu", str(args.mtu),
             "--datashard", str(args.fec[0]), "--parityshard", str(args.fec[1]),
             "--sndwnd", str(wnd[0]), "--rcvwnd", str(wnd[1]), "--sockbuf", str(args.sockbuf)]
    if args.acknodelay:
        flags.append("--acknodelay")
    return flags


def client_timeout(args: argparse.Namespace) -> float:
    """The client gives up after this (it reports it); the script kills it 15 s later."""
    return 30.0 + args.bytes / 100e3  # 100 kB/s: far below any level's goodput


def relay_argv(args: argparse.Namespace, pin: Pinning, upstream: str, loss: float,
               seed: int) -> list[str]:
    return pin.prefix("relay") + [
        str(args.relay), "--listen", f"{HOST}:0", "--upstream", upstream,
        "--delay", f"{args.delay:g}", "--loss", f"{loss / 100:g}", "--seed", str(seed),
        "--sockbuf", str(args.relay_sockbuf)]


def one_run(args: argparse.Namespace, pairing: Pairing, loss: float, seed: int, pin: Pinning,
            logdir: Path, tag: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"pairing": pairing.key, "client": pairing.client,
                           "server": pairing.server, "loss_pct": loss, "seed": seed,
                           "ok": False}
    problems: list[str] = []
    server = relay = None
    try:
        server = Proc(pin.prefix("server") + [str(args.bins[pairing.server]), "server",
                                              "--listen", f"{HOST}:0"]
                      + link_flags(args, "server"), logdir / f"{tag}.server.log")
        rec["server_argv"] = server.argv
        listening = server.read_line(30.0, "server listening line")
        if list(listening) != ["listening", "pid"] or listening["pid"] != server.proc.pid:
            raise BenchError(f"server listening line is wrong: {listening}")
        relay = Proc(relay_argv(args, pin, listening["listening"], loss, seed),
                     logdir / f"{tag}.relay.log")
        rec["relay_argv"] = relay.argv
        relay_addr = relay.read_line(10.0, "relay listening line")["listening"]
        udp0 = udp_counters()
        argv = pin.prefix("client") + [
            str(args.bins[pairing.client]), "client", "--connect", relay_addr,
            "--bytes", str(args.bytes), "--chunk", str(args.chunk),
            "--timeout", f"{client_timeout(args):g}"] + link_flags(args, "client")
        rec["client_argv"] = argv
        res = run_client(argv, client_timeout(args) + 15.0)
        rec["exit_code"], rec["wall_s"] = res["exit_code"], res["wall_s"]
        if res.get("timed_out"):
            problems.append("client killed after its timeout")
        lines = res["stdout"].splitlines()
        if len(lines) != 1:
            problems.append(f"client printed {len(lines)} lines, expected 1")
        if lines:
            try:
                rec["client_line"] = json.loads(lines[0])
            except ValueError:
                problems.append(f"client line is not JSON: {lines[0][:200]!r}")
            else:
                problems += check_client(rec["client_line"], args)
                ok_line = isinstance(rec["client_line"], dict) and rec["client_line"].get("ok")
                if res["exit_code"] is not None and res["exit_code"] != (0 if ok_line else 1):
                    problems.append(f"client exit status {res['exit_code']} does not match ok")
        if problems:
            rec["client_stderr"] = res["stderr_tail"]
        rec["server_line"] = server.read_line(10.0, "server result line")
        problems += check_server(rec["server_line"], args)
        rec["relay_cpu_s"] = relay.cpu_seconds()
        udp1 = udp_counters()
        rec["udp_counters"] = {k: udp1[k] - udp0.get(k, 0) for k in
                               ("RcvbufErrors", "SndbufErrors", "InErrors") if k in udp1}
    except (BenchError, OSError) as e:
        problems.append(str(e))
    finally:
        if relay is not None:
            prompt, status, rest = relay.stop()
            try:
                rec["relay_stats"] = json.loads(rest.splitlines()[-1]) if rest.strip() else None
            except ValueError:
                rec["relay_stats"] = None
            if not prompt:
                problems.append("relay did not exit on SIGTERM")
        if server is not None:
            prompt, status, rest = server.stop()
            if not prompt or status != 0:
                problems.append(f"server did not exit cleanly on SIGTERM (status {status})")
            if rest.strip():
                problems.append(f"server printed more lines: {rest[:200]!r}")
    if problems:
        rec["problems"] = problems
        rec["server_stderr"] = server.log_tail() if server else ""
    rec["ok"] = not problems
    if rec["ok"]:
        rec["figures"] = figures(rec, args.bytes)
    return rec


def figures(rec: dict[str, Any], nbytes: int) -> dict[str, float]:
    """The compared figures of one run. CPU per MB in milliseconds of CPU time per 10^6
    payload bytes."""
    mb = nbytes / 1e6
    c, s = rec["client_line"], rec["server_line"]
    out = {"goodput_mb_s": c["mb_per_s"], "seconds": c["seconds"],
           "client_cpu_ms_per_mb": 1000 * c["cpu_s"] / mb,
           "server_cpu_ms_per_mb": 1000 * s["cpu_s"] / mb,
           "total_cpu_ms_per_mb": 1000 * (c["cpu_s"] + s["cpu_s"]) / mb,
           "client_retransmits": c["kcp"]["retransmits"],
           "client_datagrams_out": c["kcp"]["datagrams_out"]}
    stats = rec.get("relay_stats") or {}
    if "up" in stats and "down" in stats:
        out["relay_dropped"] = stats["up"]["dropped"] + stats["down"]["dropped"]
    if rec.get("relay_cpu_s") is not None:
        out["relay_cpu_ms_per_mb"] = 1000 * rec["relay_cpu_s"] / mb
    return out


# ---------------------------------------------------------------------------------------------
# Machine information.


def machine_info(pin: Pinning, args: argparse.Namespace) -> dict[str, Any]:
    info = bc.machine_info({"client_cpu": pin.client_cpu, "server_cpu": pin.server_cpu,
                            "relay_cpu": pin.relay_cpu} if pin.enabled else None)
    info["kcp_go_package"] = bc.command_output(
        ["dpkg-query", "-W", "-f", "${Package} ${Version}", "golang-github-xtaci-kcp-dev"])
    info["go"] = bc.command_output(["go", "version"])
    return info


# ---------------------------------------------------------------------------------------------
# Medians and tables.

FIGURES = ["goodput_mb_s", "total_cpu_ms_per_mb", "client_cpu_ms_per_mb",
           "server_cpu_ms_per_mb", "seconds",
           "client_retransmits", "client_datagrams_out", "relay_dropped", "relay_cpu_ms_per_mb"]


def median_table(runs: list[dict[str, Any]]) -> dict[tuple[float, str], dict[str, Any]]:
    """(loss, pairing) -> {figure: {median, values}} over the ok runs."""
    groups: dict[tuple[float, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["loss_pct"], r["pairing"]), []).append(r)
    table = {}
    for key, rs in groups.items():
        good = [r["figures"] for r in rs if r["ok"]]
        entry: dict[str, Any] = {"runs": len(rs), "ok_runs": len(good)}
        for name in FIGURES:
            values = [g[name] for g in good if is_number(g.get(name))]
            entry[name] = {"median": statistics.median(values) if values else None,
                           "values": values}
        table[key] = entry
    return table


def med(table, loss: float, pairing: str, name: str) -> float | None:
    entry = table.get((loss, pairing))
    return entry[name]["median"] if entry and name in entry else None


def spread(table, loss: float, pairings: list[str], name: str) -> float | None:
    """The largest (max - min) / median among the pairings."""
    out = []
    for p in pairings:
        entry = table.get((loss, p))
        if entry and len(entry[name]["values"]) >= 2 and entry[name]["median"]:
            v = entry[name]["values"]
            out.append((max(v) - min(v)) / abs(entry[name]["median"]))
    return max(out) if out else None


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def fmt(x: float | None, digits: int = 2) -> str:
    return "\u2014" if x is None else f"{x:.{digits}f}"


def fmt_pct(x: float | None) -> str:
    return "\u2014" if x is None else f"{x * 100:.0f}%"


fmt_duration = bc.fmt_duration


def markdown(doc: dict[str, Any], table, levels: list[float], pairings: list[Pairing]) -> str:
    m, s = doc["machine"], doc["settings"]
    keys = [p.key for p in pairings]
    labels = [p.label for p in pairings]
    out = ["# KCP link: smux::kcp against kcp-go", ""]
    out.append(f"- CPU: {m.get('cpu_model', '?')} ({m.get('cpus_online')} CPUs); kernel "
               f"{m['kernel'].split()[1] if m.get('kernel') else '?'}; "
               f"{m.get('go') or 'go ?'}; {m.get('kcp_go_package') or 'kcp-go ?'}")
    commit = m.get("git_commit") or "?"
    out.append(f"- date: {m['date']}; commit {commit[:12]}"
               + (" (with local changes)" if m.get("git_dirty") else ""))
    pin = m.get("pinning")
    where = (f"client on CPU {pin['client_cpu']}, server on CPU {pin['server_cpu']}, relay "
             + (f"on CPU {pin['relay_cpu']}" if pin["relay_cpu"] is not None else "unpinned")
             if pin else "not pinned")
    out.append(f"- {where}; load average at start {m['loadavg_start'][0]:.2f}, at end "
               f"{m.get('loadavg_end', [0])[0]:.2f}")
    out.append(f"- {s['bytes'] / MIB:g} MiB per run (client \u2192 server), {s['chunk']} B per "
               f"write; udp-relay adds {s['delay_ms']:g} ms in each direction and drops the "
               f"given share of datagrams in each direction (seeded, the same seed for every "
               f"pairing of a level and round), its socket buffers {s['relay_sockbuf']} B")
    p = s["params"]
    out.append(f"- KCP: crypt {p['crypt']}, mode {p['mode']}, mtu {p['mtu']}, FEC "
               + (f"{p['datashard']}/{p['parityshard']}" if p["datashard"] else "off")
               + f", windows client {p['client_wnd'][0]}/{p['client_wnd'][1]}, server "
               f"{p['server_wnd'][0]}/{p['server_wnd'][1]} (snd/rcv), sockbuf {p['sockbuf']}, "
               f"acknodelay {'on' if p['acknodelay'] else 'off'}, stream mode")
    sm = doc["summary"]
    out.append(f"- {s['rounds']} round(s), median quoted; {sm['runs']} runs, {sm['failed']} "
               f"failed, {fmt_duration(sm['wall_s'])}")
    impls = doc.get("impls", {})
    if impls:
        out.append("- implementations: " + ", ".join(f"{IMPL_LABEL[k]} `{v}`"
                                                    for k, v in sorted(impls.items())))
    out += ["", "Pairings are client\u2192server. C++/Go = C++\u2192C++ over Go\u2192Go. Spread "
            "= the largest (max \u2212 min) / median of the row's pairings. CPU per MB: "
            "milliseconds of CPU time (user + system, getrusage) per 10^6 payload bytes, from "
            "the first byte written (client) or the accept (server) to the reply. On loopback a "
            "sender's system time includes the delivery of its datagrams to the receiving "
            "socket and the receiver's wake-up, work the kernel does alike for both "
            "implementations.", ""]

    def row_table(title: str, name: str, digits: int) -> None:
        out.extend([f"## {title}", ""])
        head = ["loss"] + labels + ["C++/Go", "spread"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
        for loss in levels:
            vals = [med(table, loss, k, name) for k in keys]
            r = ratio(med(table, loss, "cpp-cpp", name), med(table, loss, "go-go", name))
            out.append("| " + " | ".join([f"{loss:g} %"] + [fmt(v, digits) for v in vals]
                                         + [fmt(r), fmt_pct(spread(table, loss, keys, name))])
                       + " |")
        out.append("")

    row_table("Goodput (MB/s, higher is better)", "goodput_mb_s", 2)
    row_table("CPU per MB, client + server (ms/MB, lower is better)", "total_cpu_ms_per_mb", 2)
    row_table("CPU per MB, client (ms/MB)", "client_cpu_ms_per_mb", 2)
    row_table("CPU per MB, server (ms/MB)", "server_cpu_ms_per_mb", 2)

    out += ["## Goals", "", "Goodput C++\u2192C++ \u2265 Go\u2192Go at every loss level; CPU "
            "per MB (client + server) of C++\u2192C++ \u2264 0.5 \u00d7 Go\u2192Go.", "",
            "| loss | goodput C++/Go | goal \u2265 1 | CPU/MB C++/Go | goal \u2264 0.5 |",
            "|---|---:|---|---:|---|"]
    for loss in levels:
        g = ratio(med(table, loss, "cpp-cpp", "goodput_mb_s"),
                  med(table, loss, "go-go", "goodput_mb_s"))
        c = ratio(med(table, loss, "cpp-cpp", "total_cpu_ms_per_mb"),
                  med(table, loss, "go-go", "total_cpu_ms_per_mb"))
        out.append(f"| {loss:g} % | {fmt(g)} | {verdict(g, lambda x: x >= 1)} | {fmt(c)} | "
                   f"{verdict(c, lambda x: x <= 0.5)} |")
    out.append("")

    out += ["## Link details (medians)", "",
            "Client retransmissions and datagrams sent, datagrams the relay dropped (both "
            "directions), the relay's CPU per MB (/proc, 10 ms ticks) and the seconds per run.",
            "", "| loss | pairing | retransmits | datagrams out | relay drops | relay ms/MB | "
            "seconds |", "|---|---|---:|---:|---:|---:|---:|"]
    for loss in levels:
        for k, label in zip(keys, labels):
            cols = [fmt(med(table, loss, k, n), d) for n, d in
                    (("client_retransmits", 0), ("client_datagrams_out", 0),
                     ("relay_dropped", 0), ("relay_cpu_ms_per_mb", 2), ("seconds", 2))]
            out.append("| " + " | ".join([f"{loss:g} %", label] + cols) + " |")
    out.append("")
    overflow = sum((r.get("udp_counters") or {}).get("RcvbufErrors", 0) for r in doc["runs"])
    out += [f"Kernel UDP receive-buffer overflows during the runs (all sockets, /proc/net/snmp "
            f"RcvbufErrors): {overflow}.", ""]

    failed = [r for r in doc["runs"] if not r["ok"]]
    if failed:
        out += ["## Failed runs", ""]
        for r in failed:
            out.append(f"- round {r['round'] + 1}, {r['loss_pct']:g} % loss, "
                       f"{PAIRING_BY_KEY[r['pairing']].label}: " + "; ".join(r["problems"]))
        out.append("")
    return "\n".join(out)


def verdict(x: float | None, good) -> str:
    if x is None:
        return "\u2014"
    return "met" if good(x) else "**not met**"


# ---------------------------------------------------------------------------------------------
# Main.


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": MIB, "G": 1024 * MIB}.get(t[-1:], 1)
    if mult != 1:
        t = t[:-1]
    value = int(float(t) * mult)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text}")
    return value


def parse_pair(text: str) -> tuple[int, int]:
    a, _, b = text.partition("/")
    try:
        return int(a), int(b)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected A/B, got {text!r}") from None


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="One KCP link through udp-relay: smux-kcp-bench "
                                "(C++) against kcpbench (kcp-go).")
    p.add_argument("--cpp", type=Path, default=DEFAULT_CPP, help="C++ smux-kcp-bench binary")
    p.add_argument("--go", type=Path, default=DEFAULT_GO, help="Go kcpbench binary")
    p.add_argument("--relay", type=Path, default=DEFAULT_RELAY, help="udp-relay binary")
    p.add_argument("--loss", type=lambda s: [float(x) for x in s.split(",") if x.strip()],
                   default=None, help="loss levels in percent, comma-separated (default 0,1,5)")
    p.add_argument("--delay", type=float, default=10.0,
                   help="ms the relay adds in each direction (default 10)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    p.add_argument("--bytes", type=parse_size, default=None,
                   help="payload per run (default 32M; K, M, G are binary)")
    p.add_argument("--chunk", type=int, default=32 * 1024,
                   help="bytes per client write (default 32768)")
    p.add_argument("--pairings", type=lambda s: [x for x in s.split(",") if x.strip()],
                   default=[x.key for x in PAIRINGS],
                   help="comma-separated subset of " + ",".join(x.key for x in PAIRINGS))
    p.add_argument("--crypt", default="aes", help="kcptun's cipher (default aes; null: no crypt)")
    p.add_argument("--mode", default="fast", help="kcptun's preset (default fast)")
    p.add_argument("--mtu", type=int, default=1350, help="UDP payload bytes (default 1350)")
    p.add_argument("--fec", type=parse_pair, default=(0, 0),
                   help="FEC data/parity shards, e.g. 10/3 (default 0/0: off)")
    p.add_argument("--client-wnd", type=parse_pair, default=(128, 512),
                   help="client sndwnd/rcvwnd (default kcptun's client 128/512)")
    p.add_argument("--server-wnd", type=parse_pair, default=(1024, 1024),
                   help="server sndwnd/rcvwnd (default kcptun's server 1024/1024)")
    p.add_argument("--sockbuf", type=int, default=4194304,
                   help="the peers' socket buffers (default kcptun's 4194304)")
    p.add_argument("--acknodelay", action="store_true", help="ACKs sent at once (kcptun: off)")
    p.add_argument("--seed", type=int, default=1, help="base seed of the relay's loss")
    p.add_argument("--relay-sockbuf", type=int, default=4194304,
                   help="the relay's socket buffers (default 4194304, as the peers'; 0: the "
                        "system's, which a burst overflows when the relay is scheduled late)")
    p.add_argument("--quick", action="store_true",
                   help="1 round, 8 MiB per run, into bench/results/tmp/")
    p.add_argument("--smoke", action="store_true",
                   help="contract check for CI: 0 %% and 5 %% loss, 4 MiB, 1 round, temp dir")
    p.add_argument("--out-dir", type=Path, default=None,
                   help="default bench/results (--quick: bench/results/tmp; --smoke: a new "
                        "temporary directory)")
    p.add_argument("--name", default=None, help="base name of the files (default kcp-latest)")
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    p.add_argument("--client-cpu", type=int, default=0)
    p.add_argument("--server-cpu", type=int, default=1)
    p.add_argument("--relay-cpu", type=int, default=None,
                   help="CPU of the relay (default: the server's; -1: not pinned)")
    return p


def apply_defaults(args: argparse.Namespace) -> None:
    if args.smoke:
        defaults = dict(rounds=1, bytes=4 * MIB, loss=[0.0, 5.0], name="kcp-smoke")
    elif args.quick:
        defaults = dict(rounds=1, bytes=8 * MIB, loss=[0.0, 1.0, 5.0], name="kcp-latest")
    else:
        defaults = dict(rounds=3, bytes=32 * MIB, loss=[0.0, 1.0, 5.0], name="kcp-latest")
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)


def estimate_run(args: argparse.Namespace, loss: float) -> float:
    """Seconds per run, start and stop included (from trial runs)."""
    rate = 5.2e6 / (1 + 0.5 * math.sqrt(loss))  # 5.2, 3.5 and 2.5 MB/s at 0, 1 and 5 %
    return 0.7 + args.bytes / rate


def main() -> int:
    parser = make_parser()
    args = parser.parse_args()
    if args.smoke and args.quick:
        parser.error("--smoke and --quick exclude each other")
    apply_defaults(args)
    if args.rounds < 1 or not args.loss or any(not 0 <= x <= 100 for x in args.loss):
        parser.error("--rounds must be >= 1, --loss levels 0..100")
    unknown = [k for k in args.pairings if k not in PAIRING_BY_KEY]
    if unknown or not args.pairings:
        parser.error("unknown pairing(s): " + ", ".join(unknown))
    pairings = [p for p in PAIRINGS if p.key in args.pairings]
    args.bins = {"cpp": args.cpp.resolve(), "go": args.go.resolve()}
    args.relay = args.relay.resolve()
    needed = {p.client for p in pairings} | {p.server for p in pairings}
    for path in [args.bins[k] for k in needed] + [args.relay]:
        if not os.access(path, os.X_OK):
            print(f"error: binary not found: {path} (bench/kcp/compare.sh builds them)",
                  file=sys.stderr)
            return 2

    relay_cpu = args.server_cpu if args.relay_cpu is None else (
        None if args.relay_cpu < 0 else args.relay_cpu)
    pin = Pinning(not args.no_pin, args.client_cpu, args.server_cpu, relay_cpu)
    allowed = os.sched_getaffinity(0)
    wanted = {args.client_cpu, args.server_cpu} | ({relay_cpu} if relay_cpu is not None else set())
    if pin.enabled and not wanted <= allowed:
        print(f"warning: CPUs {sorted(wanted)} are not all available (allowed: "
              f"{sorted(allowed)}); running unpinned", file=sys.stderr)
        pin.enabled = False
    if pin.enabled and args.client_cpu == args.server_cpu:
        parser.error("--client-cpu and --server-cpu must differ")
    if args.out_dir is not None:
        out_dir = args.out_dir
    elif args.smoke:
        out_dir = Path(tempfile.mkdtemp(prefix="smux-kcp-smoke-"))
    elif args.quick:
        out_dir = REPO / "bench" / "results" / "tmp"
    else:
        out_dir = REPO / "bench" / "results"

    plan = run_plan(args.loss, pairings, args.rounds)
    estimate = sum(estimate_run(args, args.loss[li]) for _, li, _ in plan)
    print(f"{len(args.loss)} loss level(s) x {len(pairings)} pairing(s) x {args.rounds} "
          f"round(s): {len(plan)} runs of {args.bytes / MIB:g} MiB, estimated "
          f"{fmt_duration(estimate)}", flush=True)

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    info = machine_info(pin, args)
    runs: list[dict[str, Any]] = []
    started = time.monotonic()
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="smux-kcp-compare-") as logdir:
        try:
            for i, (r, li, pairing) in enumerate(plan):
                loss = args.loss[li]
                rec = one_run(args, pairing, loss, args.seed + 1000 * r + li, pin,
                              Path(logdir), f"run{i}")
                rec["round"] = r
                runs.append(rec)
                print(progress_line(i, len(plan), rec, started), flush=True)
                for prob in rec.get("problems", []):
                    print(f"      {prob}", flush=True)
        except KeyboardInterrupt:
            interrupted = True
            print("interrupted; writing what was measured", file=sys.stderr)

    wall = time.monotonic() - started
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    failed = [r for r in runs if not r["ok"]]
    impls: dict[str, str] = {}
    for r in runs:
        for side in ("client", "server"):
            impl = (r.get(f"{side}_line") or {}).get("impl")
            if impl:
                impls.setdefault(r[side], impl)
    table = median_table(runs)
    doc = {
        "tool": "bench/kcp/compare.py",
        "kind": "smoke" if args.smoke else ("quick" if args.quick else "full"),
        "machine": info,
        "settings": {
            "rounds": args.rounds, "bytes": args.bytes, "chunk": args.chunk,
            "loss_pct": args.loss, "delay_ms": args.delay, "seed": args.seed,
            "pairings": [p.key for p in pairings],
            "params": {"crypt": args.crypt, "mode": args.mode, "mtu": args.mtu,
                       "datashard": args.fec[0], "parityshard": args.fec[1],
                       "client_wnd": list(args.client_wnd), "server_wnd": list(args.server_wnd),
                       "sockbuf": args.sockbuf, "acknodelay": args.acknodelay},
            "relay_sockbuf": args.relay_sockbuf,
            "binaries": {"cpp": display_path(args.bins["cpp"]),
                         "go": display_path(args.bins["go"]), "relay": display_path(args.relay)},
        },
        "impls": impls,
        "summary": {"runs": len(runs), "planned": len(plan), "failed": len(failed),
                    "interrupted": interrupted, "wall_s": round(wall, 1),
                    "estimated_s": round(estimate, 1)},
        "medians": [{"loss_pct": k[0], "pairing": k[1], **v} for k, v in sorted(table.items())],
        "ratios_cpp_over_go": ratios(table, args.loss),
        "runs": runs,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{args.name}.json"
    md_path = out_dir / f"{args.name}.md"
    json_path.write_text(json.dumps(doc, indent=1) + "\n")
    md_path.write_text(markdown(doc, table, args.loss, pairings) + "\n")
    print(f"wrote {json_path}, {md_path}")
    print(f"{len(runs)} runs in {fmt_duration(wall)} (estimated {fmt_duration(estimate)})")
    label = "smoke" if args.smoke else "runs"
    print(f"{label}: {len(runs) - len(failed)} passed, {len(failed)} failed")
    if interrupted:
        return 130
    return 1 if failed else 0


def ratios(table, levels: list[float]) -> list[dict[str, Any]]:
    """C++->C++ over Go->Go for each figure and loss level."""
    out = []
    for loss in levels:
        entry: dict[str, Any] = {"loss_pct": loss}
        for name in ("goodput_mb_s", "total_cpu_ms_per_mb", "client_cpu_ms_per_mb",
                     "server_cpu_ms_per_mb"):
            entry[name] = ratio(med(table, loss, "cpp-cpp", name), med(table, loss, "go-go", name))
        out.append(entry)
    return out


display_path = bc.display_path


def progress_line(i: int, n: int, rec: dict[str, Any], started: float) -> str:
    f = rec.get("figures")
    figure = (f" {f['goodput_mb_s']:.2f} MB/s, CPU {f['client_cpu_ms_per_mb']:.1f} + "
              f"{f['server_cpu_ms_per_mb']:.1f} ms/MB" if f else " FAILED")
    return (f"[{i + 1:>{len(str(n))}}/{n}] r{rec['round'] + 1} loss {rec['loss_pct']:g}% "
            f"{PAIRING_BY_KEY[rec['pairing']].label}{figure} ({rec.get('wall_s', 0):.1f} s, "
            f"{fmt_duration(time.monotonic() - started)} so far)")


if __name__ == "__main__":
    sys.exit(main())
