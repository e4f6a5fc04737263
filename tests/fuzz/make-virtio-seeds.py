#!/usr/bin/env python3
"""Seeds for the virtio device fuzz targets (layout: tests/fuzz/fuzz-virtio.h): well-formed
chains a real driver would post, so the fuzzer starts inside the devices' request paths.
Usage: make-virtio-seeds.py DIR  (writes DIR/blk/*, DIR/net/*, DIR/console/*, DIR/input/*, DIR/rng/*)."""
import os
import struct
import sys

QSIZE, BUFFERS = 16, 0x1000
NEXT, WRITE = 1, 2


class Guest:
    def __init__(self, flags=0):
        self.flags, self.desc, self.heads, self.ram = flags, [], [], bytearray()

    def buf(self, data, size=None):
        """Places data (padded to size) in RAM; returns its guest address."""
        gpa = BUFFERS + len(self.ram)
        self.ram += data + bytes((size or len(data)) - len(data))
        self.ram += bytes(-len(self.ram) % 16)
        return gpa

    def chain(self, parts):
        """parts: (gpa, len, writable); adds one chain and offers it."""
        head = len(self.desc)
        for i, (gpa, length, writable) in enumerate(parts):
            last = i == len(parts) - 1
            flags = (WRITE if writable else 0) | (0 if last else NEXT)
            self.desc.append((gpa, length, flags, 0 if last else len(self.desc) + 1))
        self.heads.append(head)

    def bytes(self, tail=b""):
        out = bytearray([len(self.heads), self.flags])
        for i in range(QSIZE):
            d = self.desc[i] if i < len(self.desc) else (0, 0, 0, 0)
            out += struct.pack("<QIHH", *d)
        for i in range(QSIZE):
            out += struct.pack("<H", self.heads[i] if i < len(self.heads) else 0)
        return bytes(out + self.ram + tail)


def blk_seeds():
    g = Guest()
    for kind, sector, data in ((0, 2, None), (1, 3, b"sepia" * 100), (4, 0, None), (8, 0, None)):
        hdr = g.buf(struct.pack("<IIQ", kind, 0, sector))
        parts = [(hdr, 16, False)]
        if data:
            parts.append((g.buf(data, 512), 512, False))
        elif kind in (0, 8):
            parts.append((g.buf(b"", 512), 512, True))
        parts.append((g.buf(b"", 1), 1, True))
        g.chain(parts)
    yield "rw-flush-id", g.bytes()
    g = Guest(flags=0)
    hdr = g.buf(struct.pack("<IIQ", 13, 0, 0))
    seg = g.buf(struct.pack("<QII", 4, 8, 1))
    g.chain([(hdr, 16, False), (seg, 16, False), (g.buf(b"", 1), 1, True)])
    yield "write-zeroes", g.bytes()


def net_seeds():
    frame = bytes(12) + bytes.fromhex("ffffffffffff02000000000108060001") + bytes(46)
    g = Guest(flags=4)
    g.chain([(g.buf(frame), len(frame), False)])
    for _ in range(3):
        g.chain([(g.buf(b"", 256), 256, True)])
    yield "tx-then-rx", g.bytes(struct.pack("<H", len(frame)) + frame)


def console_seeds():
    g = Guest()
    g.chain([(g.buf(b"hello from the guest\n"), 21, False)])
    g.chain([(g.buf(b"", 64), 64, True)])
    yield "tx-rx", g.bytes(b"ls -l /data\n")


def input_seeds():
    def rec(t, c, v):
        return struct.pack("<HHi", t, c, v)
    tap = (rec(3, 0x2f, 0) + rec(3, 0x39, 1) + rec(3, 0x35, 100) + rec(3, 0x36, 200) + rec(1, 0x14a, 1)
           + rec(0, 0, 0) + rec(3, 0x39, -1) + rec(1, 0x14a, 0) + rec(0, 0, 0))
    g = Guest(flags=0)  # the touch screen
    for _ in range(12):
        g.chain([(g.buf(b"", 8), 8, True)])
    yield "touch-tap", g.bytes(tap)
    g = Guest(flags=4)  # the keyboard: a key, and an LED from the guest on the status pass
    g.chain([(g.buf(rec(17, 1, 1)), 8, False)])
    for _ in range(4):
        g.chain([(g.buf(b"", 8), 8, True)])
    yield "keyboard-led", g.bytes(rec(1, 30, 1) + rec(0, 0, 0) + rec(1, 30, 0) + rec(0, 0, 0))


def rng_seeds():
    g = Guest()
    g.chain([(g.buf(b"", 64), 64, True)])
    g.chain([(g.buf(b"", 16), 16, True), (g.buf(b"", 300), 300, True)])
    yield "two-requests", g.bytes()


def main():
    out = sys.argv[1]
    for name, seeds in (("blk", blk_seeds()), ("net", net_seeds()), ("console", console_seeds()),
                        ("input", input_seeds()), ("rng", rng_seeds())):
        os.makedirs(os.path.join(out, name), exist_ok=True)
        for seed, data in seeds:
            with open(os.path.join(out, name, seed), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
