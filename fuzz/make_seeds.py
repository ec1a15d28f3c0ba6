#!/usr/bin/env python3
"""Writes the seed corpus: frame sequences of both protocol versions (the exchanges of
docs/protocol.md §12, window updates, bulk data, malformed frames), and for the KCP targets
the datagrams of KCP.md §6, each file named by the SHA-256 of its content. Deterministic:
rerunning reproduces the same files (and leaves other files, such as fuzzer finds, alone)."""
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


# ---- KCP targets (kcp_fuzz_input.hpp reads front to back): KCP.md §6 vectors.
CONV, TS = 0x01020304, 0x0A0B0C0D


def seg(cmd, sn=0, una=0, data=b"", wnd=512, ts=TS):
    return struct.pack("<IBBHIIII", CONV, cmd, 0, wnd, ts, sn, una, len(data)) + data


def rec(op, data):
    return bytes([op]) + struct.pack("<H", len(data)) + data


def engine_seeds():
    plain = bytes([0, 31, 31, 0, 0]) + struct.pack("<H", 1350) + bytes([0])
    fast = bytes([0x0F, 127, 127, 2, 0]) + struct.pack("<H", 1300) + bytes([28])
    push0, push1 = seg(81, 0, 0, b"hello"), seg(81, 1, 0, b"world")
    tick = bytes([2]) + struct.pack("<H", 100)
    send = bytes([3]) + struct.pack("<H", 3000)
    for cfg in (plain, fast):
        yield cfg + rec(0, push0) + rec(0, push1) + bytes([4, 0, 16]) + tick
        yield cfg + rec(0, push1) + rec(1, push0) + rec(0, push0) + bytes([4, 0, 32])
        yield cfg + send + bytes([5]) + rec(0, seg(82, 0, 1)) + tick + rec(0, seg(83)) + tick
        yield cfg + send + tick + rec(0, seg(84, wnd=0)) + tick * 8 + rec(0, seg(82, 2, 3))
        yield cfg + rec(0, push0 + push1 + seg(82, 0, 0)) + rec(0, b"\x01\x02\x03\x04" + b"\0" * 20)


def fec_shard(seqid, flag, body):
    return struct.pack("<IH", seqid, flag) + body


D0 = fec_shard(0, 0xF1, struct.pack("<H", 31) + seg(81, 0, 0, b"hello"))
D1 = fec_shard(1, 0xF1, struct.pack("<H", 31) + seg(81, 1, 0, b"world"))
P = fec_shard(2, 0xF2, bytes.fromhex("1f0004030201510000020d0c0b0a0200000000000000050000005671506c79"))
D1_SHORT = fec_shard(1, 0xF1, struct.pack("<H", 28) + seg(81, 1, 0, b"hi"))
P_SHORT = fec_shard(2, 0xF2, bytes.fromhex("190004030201510000020d0c0b0a02000000000000000b000000687db4b4b1"))


def fec_seeds():
    def shards(*items, step=1):
        return b"".join(bytes([step]) + struct.pack("<H", len(x)) + x for x in items)
    yield bytes([2, 1]) + shards(D0, D1, P)
    yield bytes([2, 1]) + shards(D1, P)
    yield bytes([2, 1]) + shards(P, D0)
    yield bytes([2, 1]) + shards(D0, P_SHORT)
    yield bytes([10, 3]) + shards(D0, D1, P, step=0xFF)
    yield bytes([0, 0]) + shards(D1_SHORT, P_SHORT, D0)


CIPHERS = ["aes", "aes-128", "aes-192", "salsa20", "blowfish", "cast5", "3des", "sm4", "xor", "none"]
C1_PLAIN = bytes.fromhex("000102030405060708090a0b0c0d0e0f132c3075") + seg(81, 0, 0, b"hello")
C2_PLAIN = (bytes.fromhex("000102030405060708090a0b0c0d0e0f0555bec5") + D0)
C_STAR = {
    "aes": "86834343335b168ca911bf584a05f9900d214dbc3c943e8e57af1310500d007c873f3e502a96adfe6e204f09491c954ed4",
    "aes-128": "ddd7e0a7981ba3e2a7f6d51f2a266318460cca22ee1bcad29f44eb42598d4eb6a24ebeebc932f53498720cf6055960b230",
    "aes-192": "b9db59f7dd1bce4922855fb7f8f8e261a7ae5e6b6376208d6d9e0c9dfa6adf57f227202de72bf065cd3960fc2beb7336b0",
    "salsa20": "00010203040506079aaa6e7faf75365c4399547c1c6df05223935b0673f4805f6ae920fe8a2a13c168777caa1e890626de",
    "blowfish": "186797305116055ece6531b898c4b2352ffa674511de575c1a0aff2c25c11438dcb7575e1173e199fc9805d24e6c6dbf50",
    "cast5": "bb8f8d2209e0131c7d027b3e28d6b4578b84e5fecc4d31ead8dbf0cf73eaeb0e3c91e75bffddb7b39f7523c8dad8c93d7c",
    "3des": "5dca5d4fac8f6accf083365ae9eb528a27fba5f9c6ccfa0443565839d41cc58c3494d98336747e5f4381e64bad5666e491",
    "sm4": "0340e44fd923bb2259e375a7ab6ee54dea818205bc3e4da2f6c940936bcb99eb13b3585bb76112a07bda6508b87264d10a",
    "xor": "0fff8b84a99173765c7011c3f60cb82378e23173b69642129c523fbe1276a786f0af663f479b134e20a0d0f7f64a566e80",
}


def packet_seeds():
    for name, hexdg in C_STAR.items():
        yield bytes([CIPHERS.index(name)]) + bytes.fromhex(hexdg)
    yield bytes([0]) + bytes.fromhex("86834343335b168ca911bf584a05f9901b58c30c38973c8ff7af0c1259020977"
                                     "bdcef289f0731c46875e3831ae91634cf1c0e1ddadb3767694")
    none = CIPHERS.index("none")
    yield bytes([none]) + C1_PLAIN
    yield bytes([none]) + C2_PLAIN
    yield bytes([none]) + D1
    yield bytes([none]) + P


def main():
    rnd = random.Random(7)
    seeds = list(sequences())
    targets = {
        "frame_decode": seeds,
        "session_recv": [s + config_tail(rnd) for s in seeds],
        "session_actions": [bytes(rnd.getrandbits(8) for _ in range(n)) for n in (64, 256, 1024, 4096)]
        + [s[:2048] + config_tail(rnd) for s in seeds[:6]],
    }
    targets["kcp_engine_input"] = list(engine_seeds())
    targets["kcp_fec_decode"] = list(fec_seeds())
    targets["kcp_packet"] = list(packet_seeds())
    for name, inputs in targets.items():
        d = os.path.join(HERE, "corpus", name)
        os.makedirs(d, exist_ok=True)
        for data in inputs:
            with open(os.path.join(d, hashlib.sha256(data).hexdigest()), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
