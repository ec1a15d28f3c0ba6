#!/usr/bin/env python3
"""Writes the seed corpus: frame sequences of both protocol versions (the exchanges of
docs/protocol.md §12, window updates, bulk data, malformed frames), each file named by the
SHA-256 of its content. Deterministic: rerunning reproduces the same files."""
import hashlib
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def frame(ver, cmd, sid, payload=b""):
    return struct.pack("<BBHI", ver, cmd, len(payload), sid) + payload


def upd(ver, sid, consumed, window):
    return frame(ver, 4, sid, struct.pack("<II", consumed, window))


def sequences():
    rnd = random.Random(1)
    for ver in (1, 2):
        yield frame(ver, 0, 3) + frame(ver, 2, 3, b"hello") + frame(ver, 3, 0) + frame(ver, 1, 3)
        yield frame(ver, 0, 2) + frame(ver, 2, 2, b"world") + frame(ver, 1, 2)
        many = b"".join(frame(ver, 0, sid) for sid in range(3, 200, 2))
        yield many + b"".join(frame(ver, 2, sid, bytes([sid & 0xFF]) * 7) for sid in range(3, 200, 2))
        bulk = bytes(rnd.getrandbits(8) for _ in range(65535))
        yield frame(ver, 0, 3) + frame(ver, 2, 3, bulk) + frame(ver, 2, 3, bulk[:4465])
        yield frame(ver, 0, 4) + frame(ver, 2, 4, b"x") * 50 + frame(ver, 1, 4) + frame(ver, 2, 4, b"after fin")
        yield frame(ver, 2, 99, b"unknown stream") + frame(ver, 1, 99) + frame(ver, 0, 5) + frame(ver, 0, 5)
    yield frame(2, 0, 3) + upd(2, 3, 5, 65536) + upd(2, 3, 0xFFFFFFF0, 64) + upd(2, 7, 10, 1048576)
    # malformed: wrong version, unknown command, UPD in v1, payload on SYN, short UPD
    yield frame(1, 0, 3) + frame(2, 0, 5)
    yield frame(1, 5, 3)
    yield frame(1, 4, 3, b"\0" * 8)
    yield frame(1, 0, 3, b"\1" * 8)
    yield frame(2, 4, 3, b"\0" * 4)
    yield frame(1, 0, 4) + frame(1, 0, 0)
    # a header cut in the middle
    yield frame(1, 0, 3) + frame(1, 2, 3, b"abcdef")[:11]


def config_tail(rnd):
    # FuzzedDataProvider reads integers from the end of the input: vary the settings.
    return bytes(rnd.getrandbits(8) for _ in range(24))


def main():
    rnd = random.Random(7)
    seeds = list(sequences())
    targets = {
        "frame_decode": seeds,
        "session_recv": [s + config_tail(rnd) for s in seeds],
        "session_actions": [bytes(rnd.getrandbits(8) for _ in range(n)) for n in (64, 256, 1024, 4096)]
        + [s[:2048] + config_tail(rnd) for s in seeds[:6]],
    }
    for name, inputs in targets.items():
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for data in inputs:
            with open(os.path.join(d, hashlib.sha256(data).hexdigest()), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
