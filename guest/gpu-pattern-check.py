#!/usr/bin/env python3
"""Checks a screenshot (binary PPM, P6, maxval 255) against sepia's display test
pattern, the one guest/tools/gpu-pattern.c draws, pixel for pixel.

Usage: guest/gpu-pattern-check.py FILE.ppm [--size WxH]

  --size WxH  also require the picture to be W x H

Prints "gpu-pattern-check: FILE: WxH matches" and exits 0, or names the first
pixel that differs (and how many differ) and exits 1; 2 for an unreadable file.

The pattern, for a W x H picture, pixel (x, y), y = 0 at the top, 0xRRGGBB:
  y <  H/2          8 vertical bars, i = x*8/W, colour BARS[i]
  H/2 <= y < 3H/4   grey ramp, v = x*255/(W-1), colour v*0x010101
  y >= 3H/4         40-pixel checkerboard, ((x/40 + y/40) & 1) ? white : black
(integer division throughout).
"""
import sys

BARS = [0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000]
PROG = "gpu-pattern-check"


def pattern_colour(x, y, w, h):
    if y < h // 2:
        return BARS[x * 8 // w]
    if y < 3 * h // 4:
        return (x * 255 // (w - 1) if w > 1 else 0) * 0x010101
    return 0xFFFFFF if ((x // 40 + y // 40) & 1) else 0x000000


def read_ppm(path):
    """(width, height, RGB bytes) of a P6 PPM with maxval 255."""
    with open(path, "rb") as f:
        data = f.read()
    fields, pos = [], 0
    # Header: magic, width, height, maxval, separated by whitespace and comments.
    while len(fields) < 4:
        while pos < len(data) and data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(data) and not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    pos += 1  # the single whitespace byte before the raster
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError("not a binary PPM with maxval 255 (%r, maxval %r)" % (fields[0], fields[3]))
    w, h = int(fields[1]), int(fields[2])
    raster = data[pos:pos + w * h * 3]
    if len(raster) != w * h * 3:
        raise ValueError("raster has %d bytes, %dx%d needs %d" % (len(raster), w, h, w * h * 3))
    return w, h, raster


def main(argv):
    args = argv[1:]
    want_size = None
    if "--size" in args:
        i = args.index("--size")
        want_size = tuple(int(v) for v in args[i + 1].split("x"))
        del args[i:i + 2]
    if len(args) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    path = args[0]
    try:
        w, h, raster = read_ppm(path)
    except (OSError, ValueError, IndexError) as e:
        print("%s: %s: %s" % (PROG, path, e), file=sys.stderr)
        return 2
    if want_size is not None and (w, h) != want_size:
        print("%s: %s: %dx%d, want %dx%d" % (PROG, path, w, h, want_size[0], want_size[1]))
        return 1
    first, bad = None, 0
    for y in range(h):
        row = y * w * 3
        for x in range(w):
            r, g, b = raster[row + 3 * x], raster[row + 3 * x + 1], raster[row + 3 * x + 2]
            got = r << 16 | g << 8 | b
            want = pattern_colour(x, y, w, h)
            if got != want:
                bad += 1
                if first is None:
                    first = (x, y, got, want)
    if first is not None:
        x, y, got, want = first
        print("%s: %s: %dx%d: %d pixels differ, first (%d,%d) is %06X, want %06X"
              % (PROG, path, w, h, bad, x, y, got, want))
        return 1
    print("%s: %s: %dx%d matches" % (PROG, path, w, h))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
