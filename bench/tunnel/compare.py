#!/usr/bin/env python3
"""Measures smux-tunnel against Debian's kcptun 20210922, side by side in one run.

Goodput: a TCP target (in this script) sends N bytes on each connection; a download through
the tunnel client, over KCP through udp-relay (10 ms added each way, 0/1/5 % loss, seeded), to
the tunnel server, to the target. Every pairing (client->server: smux-tunnel or kcptun on each
end) runs once per loss level and round with fresh processes, the order rotated from round to
round; CPU per MB is the client's plus the server's CPU time over the download. Memory: the
tunnel client's (and server's) RSS growth while it holds C idle forwarded connections, each
proven forwarded by one byte from the target. Size: the stripped binaries. Over TCP and TLS
(smux-tunnel's --transport, no relay): the same download through two smux-tunnels on loopback
against one straight from the target. Both tools run with
kcptun's defaults (aes with the default key, mode fast, FEC 10/3, compression, smux v1) and the
flags both accept. See bench/README.md, section "Tunnel".

`--smoke` checks that everything works (1 round, 0 % and 5 % loss, 4 MiB, 50 idle connections)
and writes to a temporary directory. Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import bench_common as bc  # noqa: E402

HOST = "127.0.0.1"
MIB = 1024 * 1024
DEFAULT_SMUX = bc.REPO / "build" / "release" / "tools" / "smux-tunnel"
DEFAULT_RELAY = bc.REPO / "build" / "release" / "tests" / "tools" / "udp_relay" / "udp-relay"
KCPTUN = {"client": Path("/usr/bin/kcptun-client"), "server": Path("/usr/bin/kcptun-server")}
IMPL_LABEL = {"smux": "smux-tunnel", "kcptun": "kcptun"}

# ---------------------------------------------------------------------------------------------
# The target: a download of the requested size on each connection, then it waits for the
# client's end of file. The bytes repeat one seeded random MiB (incompressible for snappy).

PATTERN = random.Random(20210922).randbytes(MIB)


def expected_digest(n: int) -> str:
    h = hashlib.sha256()
    view = memoryview(PATTERN)
    while n > 0:
        k = min(n, len(PATTERN))
        h.update(view[:k])
        n -= k
    return h.hexdigest()


def recv_exact(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("end of file")
        out += chunk
    return out


class TargetHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock = self.request
        sock.settimeout(600)
        try:
            n = int.from_bytes(recv_exact(sock, 8), "big")
            view = memoryview(PATTERN)
            while n > 0:
                k = min(n, len(PATTERN))
                sock.sendall(view[:k])
                n -= k
            self.server.served += 1
            while sock.recv(65536):  # held until the client ends it
                pass
        except OSError:
            pass


class Target(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096

    def __init__(self) -> None:
        super().__init__((HOST, 0), TargetHandler)
        self.served = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"{HOST}:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def request(address: tuple[str, int], n: int, timeout: float) -> socket.socket:
    sock = socket.create_connection(address, timeout=timeout)
    sock.sendall(n.to_bytes(8, "big"))
    return sock


def download(address: tuple[str, int], n: int, timeout: float) -> tuple[int, str]:
    """Bytes received and their SHA-256."""
    h = hashlib.sha256()
    got = 0
    buf = bytearray(MIB)
    view = memoryview(buf)
    with request(address, n, timeout) as sock:
        while got < n:
            k = sock.recv_into(buf)
            if k == 0:
                break
            h.update(view[:k])
            got += k
    return got, h.hexdigest()


# ---------------------------------------------------------------------------------------------
# The tunnel processes.


class BenchError(Exception):
    pass


class Tool:
    """One tunnel end (or the relay): stderr to a log file, stopped by PID."""

    def __init__(self, argv: list[str], log: Path, stdout=subprocess.DEVNULL):
        self.argv = argv
        self.log = log
        self._log = open(log, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                     stderr=self._log, env=bc.child_env(),
                                     preexec_fn=bc.child_setup)

    def wait_log(self, marker: str, timeout: float) -> str:
        """The rest of the first log line that contains `marker`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.log.read_text(errors="replace").splitlines():
                if marker in line:
                    return line.split(marker, 1)[1].strip()
            if self.proc.poll() is not None:
                raise BenchError(f"{self.argv[0]} exited ({self.proc.returncode}): "
                                 f"{self.tail()}")
            time.sleep(0.05)  # allowed-sleep: polls a child's log file, which has no event
        raise BenchError(f"{self.argv[0]}: no '{marker}' line within {timeout:g} s")

    def cpu(self) -> float | None:
        return bc.cpu_seconds(self.proc.pid)

    def rss(self) -> int | None:
        return bc.rss_bytes(self.proc.pid)

    def stop(self) -> bool:
        try:
            return bc.stop_process(self.proc)
        finally:
            self._log.close()

    def tail(self, n: int = 600) -> str:
        try:
            return self.log.read_bytes()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""


def tunnel_argv(args: argparse.Namespace, impl: str, role: str, listen: str,
                peer: str, extra: list[str]) -> list[str]:
    binary = [str(args.smux), role] if impl == "smux" else [str(KCPTUN[role])]
    peer_flag = "-r" if role == "client" else "-t"
    return (args.pin.prefix(role) + binary + ["-l", listen, peer_flag, peer, "--quiet"]
            + args.flags + extra)


def start_pair(args: argparse.Namespace, client: str, server: str, target: Target,
               loss: float | None, seed: int, logdir: Path, tag: str,
               extra: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """Server, relay (unless `loss` is None: direct), client, each role with its `extra`
    flags; their Tools and the client's listening address."""
    tools: dict[str, Any] = {}
    extra = extra or {}
    try:
        # Free for UDP (KCP) and, as the server binds it only now, almost surely for TCP.
        port = bc.free_udp_port()
        tools["server"] = Tool(tunnel_argv(args, server, "server", f"{HOST}:{port}",
                                           target.address, extra.get("server", [])),
                               logdir / f"{tag}.server.log")
        remote = f"{HOST}:{port}"
        if loss is not None:
            tools["relay"] = Tool(
                [str(args.relay), "--listen", f"{HOST}:0", "--upstream", remote,
                 "--delay", f"{args.delay:g}", "--loss", f"{loss / 100:g}",
                 "--seed", str(seed), "--sockbuf", str(args.sockbuf)],
                logdir / f"{tag}.relay.log", stdout=subprocess.PIPE)
            line = tools["relay"].proc.stdout.readline()
            remote = json.loads(line)["listening"]
        tools["client"] = Tool(tunnel_argv(args, client, "client", f"{HOST}:0", remote,
                                           extra.get("client", [])),
                               logdir / f"{tag}.client.log")
        listening = tools["client"].wait_log("listening on:", 20.0)
        host, _, p = listening.rpartition(":")
        tools["address"] = (host or HOST, int(p))
        return tools
    except Exception:
        stop_all(tools)
        raise


def stop_all(tools: dict[str, Any]) -> list[str]:
    problems = []
    for role in ("client", "relay", "server"):
        tool = tools.get(role)
        if tool is not None and not tool.stop():
            problems.append(f"{role} did not exit on SIGTERM")
    return problems


# ---------------------------------------------------------------------------------------------
# Runs.


@dataclass(frozen=True)
class Pairing:
    client: str
    server: str

    @property
    def key(self) -> str:
        return f"{self.client}-{self.server}"

    @property
    def label(self) -> str:
        return f"{IMPL_LABEL[self.client]}\u2192{IMPL_LABEL[self.server]}"


PAIRINGS = [Pairing("smux", "smux"), Pairing("kcptun", "kcptun"), Pairing("smux", "kcptun"),
            Pairing("kcptun", "smux")]


def goodput_run(args: argparse.Namespace, pairing: Pairing, loss: float, seed: int,
                logdir: Path, tag: str) -> dict[str, Any]:
    rec: dict[str, Any] = {"kind": "goodput", "pairing": pairing.key, "loss_pct": loss,
                           "seed": seed, "bytes": args.bytes}
    problems: list[str] = []
    target = Target()
    tools: dict[str, Any] = {}
    try:
        tools = start_pair(args, pairing.client, pairing.server, target, loss, seed, logdir,
                           tag)
        rec["argv"] = {r: tools[r].argv for r in ("client", "server")}
        rec["figures"] = timed_download(args, tools["address"], tools)
    except (BenchError, OSError, ValueError) as e:
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        problems += stop_all(tools)
        target.close()
    if problems:
        rec["problems"] = problems
        rec["logs"] = {r: tools[r].tail() for r in ("client", "server") if r in tools}
    rec["ok"] = not problems
    return rec


def timed_download(args: argparse.Namespace, address: tuple[str, int],
                   tools: dict[str, Any]) -> dict[str, float]:
    """Goodput of one download of args.bytes from `address`, checked, after a warm-up one
    (which opens the tunnel's session); with the tunnel's `tools`, their CPU per MB too."""
    got, digest = download(address, 1, args.timeout)
    if (got, digest) != (1, expected_digest(1)):
        raise BenchError("the warm-up download came back wrong")
    roles = [r for r in ("client", "server") if r in tools]
    cpu0 = {r: tools[r].cpu() for r in roles}
    start = time.monotonic()
    got, digest = download(address, args.bytes, args.timeout)
    seconds = time.monotonic() - start
    cpu1 = {r: tools[r].cpu() for r in roles}
    if got != args.bytes or digest != expected_digest(args.bytes):
        raise BenchError(f"received {got} of {args.bytes} bytes, digest "
                         f"{'matches' if digest == expected_digest(got) else 'differs'}")
    mb = args.bytes / 1e6
    figures = {"goodput_mb_s": mb / seconds, "seconds": seconds}
    if roles:
        cpu = {r: cpu1[r] - cpu0[r] for r in roles}
        figures.update({f"{r}_cpu_ms_per_mb": 1000 * cpu[r] / mb for r in roles})
        figures["total_cpu_ms_per_mb"] = 1000 * sum(cpu.values()) / mb
    return figures


def make_certificate(workdir: Path) -> dict[str, Path]:
    """A self-signed certificate for IP 127.0.0.1 and its key: the server's, and the CA the
    client verifies it with."""
    files = {"cert": workdir / "tls-cert.pem", "key": workdir / "tls-key.pem"}
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(files["key"]),
                    "-out", str(files["cert"]), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return files


def transport_run(args: argparse.Namespace, transport: str, cert: dict[str, Path] | None,
                  logdir: Path, tag: str) -> dict[str, Any]:
    """One download straight from the target ("direct"), or through two smux-tunnels over
    --transport tcp or tls on loopback, without the relay."""
    rec: dict[str, Any] = {"kind": "transport", "pairing": transport, "bytes": args.bytes}
    problems: list[str] = []
    target = Target()
    tools: dict[str, Any] = {}
    try:
        if transport == "direct":
            host, _, port = target.address.rpartition(":")
            rec["figures"] = timed_download(args, (host, int(port)), {})
        else:
            extra = {role: ["--transport", transport] for role in ("client", "server")}
            if transport == "tls":
                extra["server"] += ["--tls-cert", str(cert["cert"]), "--tls-key", str(cert["key"])]
                extra["client"] += ["--tls-ca", str(cert["cert"])]
            tools = start_pair(args, "smux", "smux", target, None, 0, logdir, tag, extra)
            rec["argv"] = {r: tools[r].argv for r in ("client", "server")}
            rec["figures"] = timed_download(args, tools["address"], tools)
    except (BenchError, OSError, ValueError, subprocess.SubprocessError) as e:
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        problems += stop_all(tools)
        target.close()
    if problems:
        rec["problems"] = problems
        rec["logs"] = {r: tools[r].tail() for r in ("client", "server") if r in tools}
    rec["ok"] = not problems
    return rec


def idle_run(args: argparse.Namespace, impl: str, logdir: Path, tag: str) -> dict[str, Any]:
    """RSS growth of both ends while the client holds args.idle forwarded connections."""
    rec: dict[str, Any] = {"kind": "idle", "pairing": f"{impl}-{impl}", "connections": args.idle}
    problems: list[str] = []
    target = Target()
    tools: dict[str, Any] = {}
    held: list[socket.socket] = []
    try:
        tools = start_pair(args, impl, impl, target, None, 0, logdir, tag)
        got, _ = download(tools["address"], 1, args.timeout)  # the session exists
        base = {r: tools[r].rss() for r in ("client", "server")}
        for _ in range(args.idle):
            sock = request(tools["address"], 1, args.timeout)
            held.append(sock)
        for sock in held:  # each one reached the target and came back
            if recv_exact(sock, 1) != PATTERN[:1]:
                raise BenchError("an idle connection got a wrong byte")
        time.sleep(args.idle_hold)  # allowed-sleep: the held period the figure is taken after
        rss = {r: tools[r].rss() for r in ("client", "server")}
        rec["figures"] = {f"{r}_rss_bytes_per_conn": (rss[r] - base[r]) / args.idle
                          for r in rss}
        rec["figures"].update({f"{r}_rss_base_bytes": base[r] for r in base})
    except (BenchError, OSError, ValueError) as e:
        problems.append(f"{type(e).__name__}: {e}")
    finally:
        for sock in held:
            sock.close()
        problems += stop_all(tools)
        target.close()
    if problems:
        rec["problems"] = problems
        rec["logs"] = {r: tools[r].tail() for r in ("client", "server") if r in tools}
    rec["ok"] = not problems
    return rec


def binary_sizes(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Stripped sizes (a stripped copy of each; Debian's are stripped already)."""
    out = {}
    for key, path in (("smux-tunnel", args.smux), ("kcptun-client", KCPTUN["client"]),
                      ("kcptun-server", KCPTUN["server"])):
        copy = workdir / f"{key}.stripped"
        shutil.copyfile(path, copy)
        subprocess.run(["strip", str(copy)], check=True)
        libs = bc.command_output(["ldd", str(path)]) or ""
        out[key] = {"bytes": copy.stat().st_size, "unstripped_bytes": path.stat().st_size,
                    "shared_libraries": [ln.split()[0] for ln in libs.splitlines()
                                         if "=>" in ln]}
        copy.unlink()
    return out


# ---------------------------------------------------------------------------------------------
# Tables.


def median(runs: list[dict[str, Any]], kind: str, pairing: str, name: str,
           loss: float | None = None) -> float | None:
    vals = [r["figures"][name] for r in runs
            if r["ok"] and r["kind"] == kind and r["pairing"] == pairing
            and (loss is None or r["loss_pct"] == loss)]
    return statistics.median(vals) if vals else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:,.{digits}f}"


def verdict(x: float | None, ok) -> str:
    return "no figure" if x is None else ("met" if ok(x) else "not met")


def markdown(doc: dict[str, Any], args: argparse.Namespace) -> str:
    runs, m = doc["runs"], doc["machine"]
    keys = [p.key for p in PAIRINGS if p.key in args.pairings]
    label = {p.key: p.label for p in PAIRINGS}
    out = ["# smux-tunnel against kcptun", "",
           f"- CPU: {m.get('cpu_model', '?')} ({m['cpus_online']} CPUs); load average at "
           f"start {m['loadavg_start'][0]}, at end {doc['loadavg_end'][0]}",
           f"- date: {m['date']}; commit {(m['git_commit'] or '?')[:12]}"
           + (" (with local changes)" if m.get("git_dirty") else ""),
           f"- {args.rounds} round(s), median quoted; {args.bytes // MIB} MiB per download; "
           f"relay adds {args.delay:g} ms each way; {doc['failed']} of {len(runs)} runs failed; "
           f"{bc.fmt_duration(doc['seconds'])}",
           f"- flags of both tools: `{' '.join(args.flags) or '(kcptun defaults)'}`; Debian "
           f"package {doc['kcptun_package'] or 'kcptun (version unknown)'}",
           "- pinning: " + ("tunnel client on CPU {client}, server on CPU {server}, relay and "
                            "target unpinned".format(**args.pin.cpus)
                            if args.pin.enabled else "none"),
           "", "## Goodput (download through the tunnel, MB/s, higher is better)", "",
           "| loss | " + " | ".join(label[k] for k in keys) + " | smux/kcptun |",
           "|---|" + "---:|" * (len(keys) + 1)]
    for loss in args.loss:
        vals = {k: median(runs, "goodput", k, "goodput_mb_s", loss) for k in keys}
        out.append(f"| {loss:g} % | " + " | ".join(fmt(vals[k]) for k in keys) + " | "
                   + fmt(ratio(vals.get("smux-smux"), vals.get("kcptun-kcptun")), 2) + " |")
    out += ["", "## CPU per MB (client + server, ms of CPU time per 10^6 bytes, lower is better)",
            "", "| loss | " + " | ".join(label[k] for k in keys) + " | smux/kcptun |",
            "|---|" + "---:|" * (len(keys) + 1)]
    for loss in args.loss:
        vals = {k: median(runs, "goodput", k, "total_cpu_ms_per_mb", loss) for k in keys}
        out.append(f"| {loss:g} % | " + " | ".join(fmt(vals[k], 2) for k in keys) + " | "
                   + fmt(ratio(vals.get("smux-smux"), vals.get("kcptun-kcptun")), 2) + " |")
    if args.transports:
        names = ["direct"] + args.transports
        out += ["", "## Over TCP and TLS (smux-tunnel to smux-tunnel on loopback, no relay; "
                "MB/s, higher is better)", "",
                "| | " + " | ".join(names) + " | " + " | ".join(f"{t}/direct" for t in
                                                             args.transports) + " |",
                "|---|" + "---:|" * (2 * len(names) - 1)]
        vals = {t: median(runs, "transport", t, "goodput_mb_s") for t in names}
        cpus = {t: median(runs, "transport", t, "total_cpu_ms_per_mb") for t in args.transports}
        out.append("| goodput | " + " | ".join(fmt(vals[t]) for t in names) + " | "
                   + " | ".join(fmt(ratio(vals[t], vals["direct"]), 2)
                                for t in args.transports) + " |")
        out.append("| CPU per MB, client + server (ms) | — | "
                   + " | ".join(fmt(cpus[t], 2) for t in args.transports) + " |"
                   + " |" * len(args.transports))
    out += ["", f"## Memory: RSS growth per idle forwarded connection ({args.idle} held, bytes, "
            "lower is better)", "", "| side | smux-tunnel | kcptun | smux/kcptun |",
            "|---|---:|---:|---:|"]
    for side in ("client", "server"):
        a = median(runs, "idle", "smux-smux", f"{side}_rss_bytes_per_conn")
        b = median(runs, "idle", "kcptun-kcptun", f"{side}_rss_bytes_per_conn")
        out.append(f"| {side} | {fmt(a, 0)} | {fmt(b, 0)} | {fmt(ratio(a, b), 2)} |")
    sizes = doc["sizes"]
    out += ["", "## Binary size (stripped, bytes)", "", "| binary | bytes | shared libraries |",
            "|---|---:|---|"]
    out += [f"| {k} | {v['bytes']:,} | {', '.join(v['shared_libraries']) or 'none (static)'} |"
            for k, v in sizes.items()]
    out += ["", "## Goals (issue: smux-tunnel)", ""]
    for loss in args.loss:
        r = ratio(median(runs, "goodput", "smux-smux", "goodput_mb_s", loss),
                  median(runs, "goodput", "kcptun-kcptun", "goodput_mb_s", loss))
        out.append(f"- goodput ≥ kcptun's at {loss:g} % loss: {fmt(r, 2)}× — "
                   f"{verdict(r, lambda x: x >= 1.0)}")
    r = ratio(median(runs, "idle", "smux-smux", "client_rss_bytes_per_conn"),
              median(runs, "idle", "kcptun-kcptun", "client_rss_bytes_per_conn"))
    out.append(f"- client RSS ≤ 1/4 of kcptun-client's: {fmt(r, 3)}× — "
               f"{verdict(r, lambda x: x <= 0.25)}")
    for t in args.transports:
        r = ratio(median(runs, "transport", t, "goodput_mb_s"),
                  median(runs, "transport", "direct", "goodput_mb_s"))
        out.append(f"- over {t}, goodput ≥ 0.9× a direct connection to the target: "
                   f"{fmt(r, 2)}× — {verdict(r, lambda x: x >= 0.9)}")
    r = ratio(sizes["smux-tunnel"]["bytes"], sizes["kcptun-client"]["bytes"])
    out.append(f"- binary ≤ 1/5 of kcptun-client's: {fmt(r, 3)}× — "
               f"{verdict(r, lambda x: x <= 0.2)}")
    failed = [r for r in runs if not r["ok"]]
    if failed:
        out += ["", "## Failed runs", ""]
        out += [f"- {r['kind']} {r['pairing']} {r.get('loss_pct', '')}: "
                f"{'; '.join(r['problems'])}" for r in failed]
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# Main.


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper()
    return int(float(text[:-1]) * units[text[-1]]) if text[-1:] in units else int(text)


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="smux-tunnel against kcptun: goodput through "
                                "udp-relay, CPU per MB, idle RSS, binary size.")
    p.add_argument("--smux", type=Path, default=DEFAULT_SMUX, help="smux-tunnel binary")
    p.add_argument("--relay", type=Path, default=DEFAULT_RELAY, help="udp-relay binary")
    p.add_argument("--loss", type=lambda s: [float(x) for x in s.split(",") if x.strip()],
                   default=None, help="loss levels in percent (default 0,1,5)")
    p.add_argument("--delay", type=float, default=10.0, help="ms added each way (default 10)")
    p.add_argument("--rounds", type=int, default=None, help="rounds (default 3)")
    p.add_argument("--bytes", type=parse_size, default=None, help="per download (default 32M)")
    p.add_argument("--idle", type=int, default=None, help="idle connections (default 1000)")
    p.add_argument("--idle-hold", type=float, default=2.0,
                   help="seconds the idle connections are held before RSS is read (default 2)")
    p.add_argument("--pairings", type=lambda s: [x for x in s.split(",") if x.strip()],
                   default=[x.key for x in PAIRINGS],
                   help="subset of " + ",".join(x.key for x in PAIRINGS))
    p.add_argument("--transports", type=lambda s: [x for x in s.split(",") if x.strip()],
                   default=["tcp", "tls"],
                   help="smux-tunnel's --transport values measured against a direct "
                        "connection (default tcp,tls; empty: none)")
    p.add_argument("--flag", dest="flags", action="append", default=[],
                   help="a flag given to both tools at both ends, e.g. --flag=--nocomp "
                        "(repeatable; default: none, kcptun's defaults)")
    p.add_argument("--sockbuf", type=int, default=4194304, help="the relay's socket buffers")
    p.add_argument("--seed", type=int, default=1, help="base seed of the relay's loss")
    p.add_argument("--timeout", type=float, default=300.0, help="socket timeout, s")
    p.add_argument("--smoke", action="store_true",
                   help="1 round, 0 and 5 %% loss, 4 MiB, 50 idle connections, temp dir")
    p.add_argument("--out-dir", type=Path, default=None, help="default bench/results")
    p.add_argument("--name", default=None, help="base name of the files (default tunnel)")
    p.add_argument("--no-pin", action="store_true", help="do not pin with taskset")
    return p


def apply_defaults(args: argparse.Namespace) -> None:
    if args.smoke:
        d = dict(rounds=1, bytes=4 * MIB, loss=[0.0, 5.0], idle=50, name="tunnel-smoke")
    else:
        d = dict(rounds=3, bytes=32 * MIB, loss=[0.0, 1.0, 5.0], idle=1000, name="tunnel")
    for k, v in d.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    args.pin = bc.Pinning(not args.no_pin and (os.cpu_count() or 1) >= 2,
                          {"client": 0, "server": 1})


def main() -> int:
    args = make_parser().parse_args()
    apply_defaults(args)
    for path in [args.smux, args.relay, *KCPTUN.values()]:
        if not Path(path).is_file():
            print(f"error: {path} not found (bench/tunnel/compare.sh builds and installs "
                  "what it needs)", file=sys.stderr)
            return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.idle + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the children inherit it
    out_dir = args.out_dir or (Path(tempfile.mkdtemp(prefix="smux-tunnel-bench-"))
                               if args.smoke else bc.REPO / "bench" / "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    logdir = Path(tempfile.mkdtemp(prefix="smux-tunnel-bench-logs-"))
    started = time.monotonic()
    machine = bc.machine_info(dict(args.pin.cpus) if args.pin.enabled else None)
    pairings = [p for p in PAIRINGS if p.key in args.pairings]
    unknown = [t for t in args.transports if t not in ("tcp", "tls")]
    if unknown:
        print(f"error: --transports: unknown {','.join(unknown)} (tcp, tls)", file=sys.stderr)
        return 2
    cert = make_certificate(logdir) if "tls" in args.transports else None
    runs: list[dict[str, Any]] = []
    for rnd in range(args.rounds):
        for li, loss in enumerate(args.loss):
            k = rnd % len(pairings)
            for p in pairings[k:] + pairings[:k]:
                tag = f"r{rnd}-l{li}-{p.key}"
                rec = goodput_run(args, p, loss, args.seed + 1000 * rnd + li, logdir, tag)
                rec["round"] = rnd
                runs.append(rec)
                fig = rec.get("figures", {})
                print(f"[{len(runs)}] r{rnd + 1} {loss:g}% {p.label}: "
                      + (f"{fig['goodput_mb_s']:.1f} MB/s, {fig['total_cpu_ms_per_mb']:.2f} "
                         "ms CPU/MB" if rec["ok"] else "FAILED " + "; ".join(rec["problems"])),
                      file=sys.stderr, flush=True)
        names = (["direct"] + args.transports) if args.transports else []
        k = rnd % len(names) if names else 0
        for name in names[k:] + names[:k]:
            rec = transport_run(args, name, cert, logdir, f"r{rnd}-transport-{name}")
            rec["round"] = rnd
            runs.append(rec)
            fig = rec.get("figures", {})
            print(f"[{len(runs)}] r{rnd + 1} {name}: "
                  + (f"{fig['goodput_mb_s']:.1f} MB/s" if rec["ok"]
                     else "FAILED " + "; ".join(rec["problems"])),
                  file=sys.stderr, flush=True)
        for impl in ("smux", "kcptun"):
            rec = idle_run(args, impl, logdir, f"r{rnd}-idle-{impl}")
            rec["round"] = rnd
            runs.append(rec)
            fig = rec.get("figures", {})
            print(f"[{len(runs)}] r{rnd + 1} idle {IMPL_LABEL[impl]}: "
                  + (f"client {fig['client_rss_bytes_per_conn']:.0f} B, server "
                     f"{fig['server_rss_bytes_per_conn']:.0f} B per connection"
                     if rec["ok"] else "FAILED " + "; ".join(rec["problems"])),
                  file=sys.stderr, flush=True)
    doc = {"machine": machine, "runs": runs, "sizes": binary_sizes(args, logdir),
           "failed": sum(1 for r in runs if not r["ok"]),
           "seconds": time.monotonic() - started,
           "loadavg_end": [round(x, 2) for x in os.getloadavg()],
           "kcptun_package": bc.command_output(
               ["dpkg-query", "-W", "-f", "${Package} ${Version}", "kcptun"]),
           "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
                    if k != "pin"}}
    (out_dir / f"{args.name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    (out_dir / f"{args.name}.md").write_text(markdown(doc, args))
    print(f"wrote {bc.display_path(out_dir / args.name)}.{{json,md}}; "
          f"{doc['failed']} of {len(runs)} runs failed", file=sys.stderr)
    if doc["failed"] == 0:
        shutil.rmtree(logdir, ignore_errors=True)
    else:
        print(f"logs kept in {logdir}", file=sys.stderr)
    return 1 if doc["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
