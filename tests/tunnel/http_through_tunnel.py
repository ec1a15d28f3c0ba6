#!/usr/bin/env python3
"""End to end through smux-tunnel: python3's http.server serves seeded files of 1 byte to
64 MiB behind `smux-tunnel server`, `smux-tunnel client` in front, and one curl fetches 100 of
them in parallel (--parallel) through the tunnel; every download is checked by SHA-256.

--transport kcp goes through udp-relay dropping 5% of the datagrams each way; tcp and tls go
straight (tls with a CA and a server certificate made by openssl at start). The client's
status line (--status-interval 1) must then show the bytes received, and over kcp the
repairs of the loss (retransmits, FEC recoveries).

Everything listens on 127.0.0.1 with port 0; each step waits for a log line or for a process
to end, bounded in time; only the processes started here are signalled, by PID. The largest
file is --max-mib MiB (64; the ASan build passes less, and SMUX_TUNNEL_E2E_MAX_MIB overrides
both). Exit status 0 on success, 1 with the reason and every log on failure.
"""

import argparse
import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HOST = "127.0.0.1"
DOWNLOADS = 100
LOSS = 0.05
START_TIMEOUT = 20.0


class Failure(Exception):
    pass


class Child:
    """A process started here; one of its outputs is collected line by line by a thread (so
    it never blocks on a full pipe) and can be waited on for a line matching a pattern."""

    def __init__(self, name: str, argv: list[str], read: str = "stderr"):
        self.name = name
        self.argv = argv
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.ended = False
        pipe = {"stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL}
        if read == "stderr":
            pipe = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
        self.proc = subprocess.Popen(argv, text=True, errors="replace", **pipe)
        stream = self.proc.stderr if read == "stderr" else self.proc.stdout
        self.reader = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self.reader.start()

    def _drain(self, stream) -> None:
        for line in stream:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, pattern: str, timeout: float, after: int = 0) -> re.Match:
        """The first match of `pattern` in a line from line `after` on."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                for line in self.lines[after:]:
                    if m := regex.search(line):
                        return m
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    raise Failure(f"{self.name}: no line matching {pattern!r} within "
                                  f"{timeout:g} s{' (it ended)' if self.ended else ''}")
                self.changed.wait(left)

    def line_count(self) -> int:
        with self.changed:
            return len(self.lines)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM by PID, then the exit status (None: it had to be killed)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None

    def log(self) -> str:
        with self.changed:
            return f"--- {self.name}: {' '.join(self.argv)}\n" + "\n".join(self.lines[-200:])


def file_sizes(max_bytes: int) -> list[int]:
    """1 byte to `max_bytes`: powers of ten and of four, and the frame-size edges."""
    sizes = {1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 65535, 65536, 65537}
    size = 4096
    while size <= max_bytes:
        sizes.add(size)
        size *= 4
    sizes.add(max_bytes)
    return sorted(s for s in sizes if s <= max_bytes)


def make_files(root: Path, max_bytes: int, seed: int) -> dict[str, str]:
    """Seeded random files; their SHA-256 by name."""
    rng = random.Random(seed)
    digests = {}
    for size in file_sizes(max_bytes):
        data = rng.randbytes(size)
        name = f"f{size}.bin"
        (root / name).write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    return digests


def download_list(digests: dict[str, str], seed: int) -> list[str]:
    """Every file once, then the files of 1 MiB or less drawn (seeded) up to DOWNLOADS."""
    names = sorted(digests, key=lambda n: int(n[1:-4]))
    small = [n for n in names if int(n[1:-4]) <= 1 << 20]
    rng = random.Random(seed + 1)
    return names + [rng.choice(small) for _ in range(DOWNLOADS - len(names))]


def make_certificates(root: Path) -> dict[str, Path]:
    """A CA, and a server certificate it signed for IP 127.0.0.1."""
    files = {k: root / f"{k}.pem" for k in ("ca", "ca_key", "cert", "key", "csr")}
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", str(files["ca_key"]), "-out", str(files["ca"]),
            "-days", "2", "-subj", "/CN=smux-tunnel test CA")
    openssl("req", *curve, "-keyout", str(files["key"]), "-out", str(files["csr"]),
            "-subj", "/CN=127.0.0.1")
    ext = root / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(files["csr"]), "-CA", str(files["ca"]), "-CAkey",
            str(files["ca_key"]), "-CAcreateserial", "-out", str(files["cert"]), "-days", "2",
            "-extfile", str(ext))
    return files


def serve(directory: str) -> None:
    """python3's http.server on 127.0.0.1, port 0, with a listen backlog for 100 connections
    at once (socketserver's default of 5 drops the SYNs of the rest, which then wait for the
    kernel's SYN retransmission, seconds apart)."""
    import functools
    import http.server

    class Server(http.server.ThreadingHTTPServer):
        request_queue_size = 4 * DOWNLOADS

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
    with Server((HOST, 0), handler) as httpd:
        print(f"serving on port {httpd.server_address[1]}", flush=True)
        httpd.serve_forever()


def run(args: argparse.Namespace, work: Path, children: list[Child]) -> None:
    def start(child: Child) -> Child:
        children.append(child)
        return child

    served = work / "served"
    served.mkdir()
    max_bytes = args.max_mib << 20
    digests = make_files(served, max_bytes, args.seed)
    wanted = download_list(digests, args.seed)

    http = start(Child("http.server", [sys.executable, __file__, "--serve", str(served)],
                       read="stdout"))
    http_port = http.wait_for(r"serving on port (\d+)", START_TIMEOUT).group(1)

    flags = ["--transport", args.transport, "--quiet"]
    server_flags, client_flags = [], ["--status-interval", "1"]
    if args.transport == "tls":
        certs = make_certificates(work)
        server_flags = ["--tls-cert", str(certs["cert"]), "--tls-key", str(certs["key"])]
        client_flags += ["--tls-ca", str(certs["ca"])]
    server = start(Child("smux-tunnel server", [args.tunnel, "server", "-l", f"{HOST}:0", "-t",
                                                f"{HOST}:{http_port}", *flags, *server_flags]))
    remote = server.wait_for(r"listening on: (\S+)", START_TIMEOUT).group(1)
    if args.transport == "kcp":
        relay = start(Child("udp-relay", [args.relay, "--listen", f"{HOST}:0", "--upstream",
                                          remote, "--loss", str(LOSS), "--seed", str(args.seed)],
                            read="stdout"))
        remote = json.loads(relay.wait_for(r"^\{.*\"listening\"", START_TIMEOUT).string)[
            "listening"]
    client = start(Child("smux-tunnel client", [args.tunnel, "client", "-l", f"{HOST}:0", "-r",
                                                remote, *flags, *client_flags]))
    local = client.wait_for(r"listening on: (\S+)", START_TIMEOUT).group(1)

    fetched = work / "fetched"
    fetched.mkdir()
    curl = ["curl", "--noproxy", "*", "--silent", "--show-error", "--fail", "--parallel",
            "--parallel-immediate", "--parallel-max", str(DOWNLOADS), "--max-time",
            str(args.timeout)]
    for i, name in enumerate(wanted):
        curl += ["-o", str(fetched / f"{i}.bin"), f"http://{local}/{name}"]
    began = time.monotonic()
    done = subprocess.run(curl, capture_output=True, text=True, timeout=args.timeout + 30)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise Failure(f"curl exited with {done.returncode}: {done.stderr.strip()[:2000]}")

    bad = []
    total = 0
    for i, name in enumerate(wanted):
        data = (fetched / f"{i}.bin").read_bytes()
        total += len(data)
        if hashlib.sha256(data).hexdigest() != digests[name]:
            bad.append(f"download {i} ({name}): {len(data)} bytes, SHA-256 differs")
    if bad:
        raise Failure("\n".join(bad))
    print(f"{args.transport}: {len(wanted)} parallel downloads, {total} bytes, all SHA-256 "
          f"verified ({seconds:.1f} s)")

    # The status line after the downloads: the bytes came, and over kcp the loss was repaired.
    status = client.wait_for(r"status: .*received (\d+(?:\.\d)?) (\w+) ", 5.0,
                             after=client.line_count())
    print(f"client {status.string[status.string.find('status:'):]}")
    if float(status.group(1)) <= 0:
        raise Failure(f"the status line shows nothing received: {status.string}")
    if args.transport == "kcp":
        repairs = re.search(r"retransmits (\d+), fec recovered (\d+)", status.string)
        if not repairs or int(repairs.group(1)) + int(repairs.group(2)) == 0:
            raise Failure(f"5% loss, yet no retransmit or FEC recovery: {status.string}")

    for child in (client, server):
        code = child.stop()
        if code != 0:
            raise Failure(f"{child.name} exited with {code} after SIGTERM")


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(sys.argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tunnel", required=True, help="the smux-tunnel binary")
    parser.add_argument("--relay", help="udp-relay (for --transport kcp)")
    parser.add_argument("--transport", choices=("kcp", "tcp", "tls"), required=True)
    parser.add_argument("--max-mib", type=int, default=64, help="the largest file, MiB")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=int, default=240, help="curl's limit, seconds")
    args = parser.parse_args()
    if os.environ.get("SMUX_TUNNEL_E2E_MAX_MIB"):
        args.max_mib = int(os.environ["SMUX_TUNNEL_E2E_MAX_MIB"])
    if args.transport == "kcp" and not args.relay:
        parser.error("--transport kcp needs --relay")

    children: list[Child] = []
    with tempfile.TemporaryDirectory(prefix="smux-tunnel-http-") as tmp:
        try:
            run(args, Path(tmp), children)
            return 0
        except (Failure, subprocess.SubprocessError, OSError) as e:
            print(f"FAILED: {e}", file=sys.stderr)
            for child in children:
                print(child.log(), file=sys.stderr)
            return 1
        finally:
            for child in reversed(children):
                child.stop()


if __name__ == "__main__":
    sys.exit(main())
