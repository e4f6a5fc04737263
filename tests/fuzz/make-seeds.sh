#!/bin/sh
# Seed corpora for the image fuzzers: real images from Debian's mkbootimg and img2simg where
# installed, and small hand-made v4 boot/vendor_boot, sparse and vbmeta images from python3.
# Usage: make-seeds.sh OUTDIR   (creates OUTDIR/{bootimg,vendorboot,sparse,vbmeta})
set -eu
out=$1
mkdir -p "$out/bootimg" "$out/vendorboot" "$out/sparse" "$out/vbmeta"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 3000 /dev/urandom > "$tmp/k"; head -c 1500 /dev/urandom > "$tmp/r"
head -c 100 /dev/urandom > "$tmp/s"; head -c 200 /dev/urandom > "$tmp/d"
if command -v mkbootimg > /dev/null; then
    mkbootimg --header_version 0 --kernel "$tmp/k" --ramdisk "$tmp/r" --second "$tmp/s" \
        --cmdline console=ttyS0 -o "$out/bootimg/v0.img"
    mkbootimg --header_version 1 --kernel "$tmp/k" --ramdisk "$tmp/r" -o "$out/bootimg/v1.img"
    mkbootimg --header_version 2 --kernel "$tmp/k" --ramdisk "$tmp/r" --dtb "$tmp/d" \
        -o "$out/bootimg/v2.img"
    mkbootimg --header_version 3 --kernel "$tmp/k" --ramdisk "$tmp/r" -o "$out/bootimg/v3.img"
    mkbootimg --header_version 3 --vendor_boot "$out/vendorboot/v3.img" \
        --vendor_ramdisk "$tmp/r" --dtb "$tmp/d" --vendor_cmdline x=1
fi
if command -v img2simg > /dev/null; then
    { head -c 8192 /dev/urandom; head -c 16384 /dev/zero; printf 'abcd%.0s' $(seq 2048); } > "$tmp/raw"
    img2simg "$tmp/raw" "$out/sparse/img2simg.img" 4096
fi
python3 - "$out" <<'PY'
import struct, sys, zlib
out = sys.argv[1]
def pad(b, n): return b + b"\0" * (-len(b) % n)
# boot v4 (kernel + ramdisk + signature) and init_boot (ramdisk only)
for name, k in (("v4.img", b"K" * 100), ("init_boot.img", b"")):
    h = b"ANDROID!" + struct.pack("<4I", len(k), 50, 0, 1584) + b"\0" * 16 + struct.pack("<I", 4)
    h = pad(h + b"console=ttyS0".ljust(1536, b"\0") + struct.pack("<I", 16), 4096)
    open(f"{out}/bootimg/{name}", "wb").write(h + pad(k, 4096) + pad(b"R" * 50, 4096) + pad(b"S" * 16, 4096))
# vendor_boot v4 with two fragments and a bootconfig
frag = [b"A" * 30, b"B" * 20]
h = b"VNDRBOOT" + struct.pack("<5I", 4, 2048, 0, 0, 50) + b"x=1".ljust(2048, b"\0")
h += struct.pack("<I16sIIQ", 0, b"board", 2128, 8, 0) + struct.pack("<4I", 216, 2, 108, 5)
table = b"".join(struct.pack("<3I32s16I", len(f), off, t, b"r%d" % t, *([0] * 16))
                 for f, off, t in ((frag[0], 0, 1), (frag[1], 30, 3)))
open(f"{out}/vendorboot/v4.img", "wb").write(
    pad(h, 2048) + pad(b"".join(frag), 2048) + pad(b"D" * 8, 2048) + pad(table, 2048) + pad(b"a=1\n\0", 2048))
# sparse: every chunk type
raw = bytes(range(256)) * 16
data = raw + b"\xef\xbe\xad\xde" * 1024 + b"\0" * 4096
chunks = [struct.pack("<HHII", 0xCAC1, 0, 1, 12 + 4096) + raw,
          struct.pack("<HHII", 0xCAC2, 0, 1, 16) + b"\xef\xbe\xad\xde",
          struct.pack("<HHII", 0xCAC3, 0, 1, 12),
          struct.pack("<HHII", 0xCAC4, 0, 0, 16) + struct.pack("<I", zlib.crc32(data))]
hdr = struct.pack("<IHHHHIIII", 0xed26ff3a, 1, 0, 28, 12, 4096, 3, 4, 0)
open(f"{out}/sparse/all-chunks.img", "wb").write(hdr + b"".join(chunks))
# vbmeta: each descriptor type, unsigned
def desc(tag, body): body = pad(body, 8); return struct.pack(">QQ", tag, len(body)) + body
d = desc(2, struct.pack(">Q32sIIII60s", 4096, b"sha256", 4, 4, 32, 0, b"") + b"boot" + b"salt" + b"D" * 32)
d += desc(1, struct.pack(">IQQQIIIQQ32sIIII60s", 1, 4096, 4096, 4096, 4096, 4096, 0, 0, 0, b"sha1", 6, 0, 20, 0, b"") + b"system" + b"T" * 20)
d += desc(3, struct.pack(">II", 0, 5) + b"quiet")
d += desc(4, struct.pack(">IIII60s", 1, 4, 8, 0, b"") + b"bootKEYKEYKEY")
d += desc(0, struct.pack(">QQ", 1, 1) + b"k\0v\0")
aux = pad(d, 64)
h = b"AVB0" + struct.pack(">IIQQI", 1, 0, 0, len(aux), 0) + struct.pack(">10Q", 0, 0, 0, 0, 0, 0, 0, 0, 0, len(d))
h += struct.pack(">QII", 1, 0, 0) + b"avbtool 1.2.0".ljust(48, b"\0")
vb = pad(h, 256) + aux
open(f"{out}/vbmeta/vbmeta.img", "wb").write(vb)
part = pad(b"P" * 5000, 4096) + pad(vb, 4096)
footer = b"AVBf" + struct.pack(">IIQQQ", 1, 0, 5000, 8192, len(vb)) + b"\0" * 28
open(f"{out}/vbmeta/partition.img", "wb").write(part + b"\0" * 4032 + footer)
PY
