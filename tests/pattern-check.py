#!/usr/bin/env python3
"""Checks a picture against sepia's reference test pattern (guest/tools/gpu-pattern.c draws
it; tests/guest/gpu.c too). The picture is a sepia framebuffer file (.fb, see
display/framebuffer.h), a binary PPM (P6, QEMU's screendump) or a PNG (needs python3-pil).
Prints one line and exits 0 when every pixel matches, 1 otherwise.

usage: pattern-check.py FILE [--width W --height H] [--at X,Y] [--size WxH]
  --at X,Y   the pattern's top-left corner inside the picture (a browser screenshot);
             the pattern's size is then --width x --height (default: the picture's size).
  --size WxH also require the whole picture to be W x H.

The pattern, for a W x H picture, pixel (x, y), y = 0 at the top, 0xRRGGBB, integer division:
  y <  H/2          8 vertical bars, i = x*8/W, colour BARS[i]
  H/2 <= y < 3H/4   grey ramp, v = x*255/(W-1), colour v*0x010101
  y >= 3H/4         40-pixel checkerboard, ((x/40 + y/40) & 1) ? white : black
"""
import argparse
import struct
import sys

BARS = [0xFFFFFF, 0xFFFF00, 0x00FFFF, 0x00FF00, 0xFF00FF, 0xFF0000, 0x0000FF, 0x000000]


def pattern(x, y, w, h):
    if y < h // 2:
        return BARS[x * 8 // w]
    if y < 3 * h // 4:
        return (x * 255 // (w - 1)) * 0x010101
    return 0xFFFFFF if ((x // 40 + y // 40) & 1) else 0


def read_fb(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'SEPIAFB1':
        sys.exit(f'{path}: not a sepia framebuffer')
    (hsize, _mw, _mh, w, h, _dpi, enabled) = struct.unpack_from('<7I', data, 8)
    frames = struct.unpack_from('<Q', data, 48)[0]
    px = data[hsize:hsize + w * h * 4]

    def get(x, y):
        o = (y * w + x) * 4
        return px[o + 2] << 16 | px[o + 1] << 8 | px[o]
    return w, h, get, f'enabled={enabled} frames={frames}'


def read_ppm(path):
    with open(path, 'rb') as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:          # magic, width, height, maxval; '#' comments between
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            pos = data.index(b'\n', pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b'P6' or fields[3] != b'255':
        sys.exit(f'{path}: not a binary PPM with maxval 255')
    w, h, px = int(fields[1]), int(fields[2]), data[pos + 1:]

    def get(x, y):
        o = (y * w + x) * 3
        return px[o] << 16 | px[o + 1] << 8 | px[o + 2]
    return w, h, get, ''


def read_png(path):
    from PIL import Image
    img = Image.open(path).convert('RGB')
    w, h = img.size
    data = img.load()

    def get(x, y):
        r, g, b = data[x, y]
        return r << 16 | g << 8 | b
    return w, h, get, ''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('file')
    ap.add_argument('--width', type=int)
    ap.add_argument('--height', type=int)
    ap.add_argument('--at', default='0,0')
    ap.add_argument('--size')
    a = ap.parse_args()
    reader = read_fb if a.file.endswith('.fb') else read_ppm if a.file.endswith('.ppm') else read_png
    w, h, get, info = reader(a.file)
    if a.size and a.size != f'{w}x{h}':
        print(f'{a.file}: the picture is {w}x{h}, not {a.size}')
        return 1
    ox, oy = (int(v) for v in a.at.split(','))
    pw, ph = a.width or w - ox, a.height or h - oy
    if ox + pw > w or oy + ph > h:
        print(f'{a.file}: {w}x{h} picture is smaller than a {pw}x{ph} pattern at {ox},{oy}')
        return 1
    bad = 0
    first = None
    for y in range(ph):
        for x in range(pw):
            got, want = get(ox + x, oy + y), pattern(x, y, pw, ph)
            if got != want:
                bad += 1
                first = first or (x, y, got, want)
    if bad:
        x, y, got, want = first
        print(f'{a.file}: {bad} of {pw * ph} pixels differ from the {pw}x{ph} test pattern; first at '
              f'{x},{y}: {got:06x}, want {want:06x} {info}')
        return 1
    print(f'{a.file}: all {pw * ph} pixels match the {pw}x{ph} test pattern {info}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
