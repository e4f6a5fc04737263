#!/bin/sh
# Seed corpora for the image fuzzers: real images from Debian's mkbootimg and img2simg where
# installed, and small hand-made v4 boot/vendor_boot, sparse and vbmeta images from python3;
# qcow2 images from qemu-img (and data written by qemu-io), a GPT disk from sfdisk where
# installed; VMDK descriptors, a manifest.cache, bootloader_control bytes and a small GPT in
# sepia's own formats from python3.
# Usage: make-seeds.sh OUTDIR
#   (creates OUTDIR/{bootimg,vendorboot,sparse,vbmeta,qcow2,vmdk,manifest,abmisc,gpt,vsock})
set -eu
out=$1
for d in bootimg vendorboot sparse vbmeta qcow2 vmdk manifest abmisc gpt vsock gpu; do mkdir -p "$out/$d"; done
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

# qcow2: v3 with 4 KiB and 512-byte clusters, v2 (compat 0.10), a raw backing file (fuzz-qcow2
# creates backing.raw beside its image), a backing chain naming the image itself (a loop), and
# one with data clusters.
if command -v qemu-img > /dev/null; then
    q="$out/qcow2"
    qemu-img create -q -f qcow2 -o cluster_size=4096 "$q/v3-4k.qcow2" 1M
    qemu-img create -q -f qcow2 -o cluster_size=512 "$q/v3-512.qcow2" 64K
    qemu-img create -q -f qcow2 -o cluster_size=4096,compat=0.10 "$q/v2.qcow2" 1M
    qemu-img create -q -f qcow2 -u -b backing.raw -F raw -o cluster_size=4096 "$q/backing-raw.qcow2" 64K
    qemu-img create -q -f qcow2 -u -b input.img -F qcow2 -o cluster_size=4096 "$q/backing-loop.qcow2" 1M
    if command -v qemu-io > /dev/null; then
        cp "$q/v3-4k.qcow2" "$q/data.qcow2"
        qemu-io -f qcow2 -c 'write -P 0x55 0 8k' -c 'write -P 0x66 512k 4k' -c 'write -z 16k 4k' \
            "$q/data.qcow2" > /dev/null
    fi
fi
# Inputs that once found bugs (see README.md), kept as seeds.
here=$(dirname "$0")
cp "$here"/regressions/qcow2/* "$out/qcow2/"
# vsock: the hand-made corpus in the tree (tests/fuzz/corpus/vsock) and its regressions.
cp "$here"/corpus/vsock/* "$here"/regressions/vsock/* "$out/vsock/"
# virtio-gpu command runs (fuzz-gpu.c's record format), kept in the tree.
cp "$here"/corpus/gpu/* "$out/gpu/"
# GPT: sfdisk's table (128 entries) with misc first, cut to the first 32 KiB the target reads.
if command -v sfdisk > /dev/null; then
    truncate -s 1M "$tmp/gpt.img"
    printf 'label: gpt\nfirst-lba: 34\nstart=34, size=16, name=misc\nstart=50, size=8, name=boot_a\nstart=58, size=8, name=boot_b\nstart=66, size=4, name=vbmeta_a\n' |
        sfdisk -q "$tmp/gpt.img" > /dev/null
    head -c 32768 "$tmp/gpt.img" > "$tmp/gpt-head.img"
    python3 - "$tmp/gpt-head.img" "$out/gpt/sfdisk.img" <<'PY'
import struct, sys, zlib
d = bytearray(open(sys.argv[1], "rb").read())
c = struct.pack("<4sIBBBB", b"_a", 0x42414342, 1, 2, 0, 0) + bytes([0x7f, 0, 0x7e, 0, 0, 0, 0, 0]) + b"\0" * 8
c += struct.pack("<I", zlib.crc32(c))
d[34 * 512 + 2048:34 * 512 + 2048 + 32] = c
open(sys.argv[2], "wb").write(d)
PY
fi
python3 - "$out" <<'PY'
import hashlib, struct, sys, uuid, zlib
out = sys.argv[1]
# VMDK descriptors as sepia's composite writer makes them (images/composite.c), over the
# extent files fuzz-vmdk creates (p1.img 8 KiB, p2.img 4 KiB), plus the other extent kinds.
ext = 'RW 4 FLAT "p1.img" 0\nRW 8 FLAT "p2.img" 0\n# partition 1: misc\nRW 16 FLAT "p1.img" 0\nRW 4 FLAT "p2.img" 4\n'
cid = zlib.crc32(ext.encode())
desc = ("# Disk DescriptorFile\n# sepia composite disk: 1 partitions, 16384 bytes\n"
        f'version=1\nCID={cid:08x}\nparentCID=ffffffff\ncreateType="monolithicFlat"\n\n'
        "# Extent description\n" + ext +
        '\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\nddb.geometry.cylinders = "0"\n'
        'ddb.geometry.heads = "16"\nddb.geometry.sectors = "63"\nddb.adapterType = "ide"\n')
open(f"{out}/vmdk/composite.vmdk", "w").write(desc)
open(f"{out}/vmdk/kinds.vmdk", "w").write(
    '# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="vmfs"\n'
    'RW 16 FLAT "p1.img" 0\nRW 2048 ZERO\nRDONLY 8 FLAT "p2.img" 0\nNOACCESS 4 ZERO\nRW 8 VMFS "p2.img"\n')
open(f"{out}/vmdk/absolute.vmdk", "w").write(
    '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 1 FLAT "/dev/null" 0\n')
# manifest.cache as sepia writes it (GKeyFile; group = SHA-256 of the path) for the two files
# fuzz-manifest creates at fixed paths with fixed mtimes: both entries hit; one stale.
files = [("/tmp/sepia-fuzz-manifest/boot.img", b"not a boot image\n", 1700000000123456789),
         ("/tmp/sepia-fuzz-manifest/out.img", b"o" * 1000, 1700000001123456789)]
def group(path, data, mtime, size=None):
    return (f"[{hashlib.sha256(path.encode()).hexdigest()}]\npath={path}\nsize={len(data) if size is None else size}\n"
            f"mtime_ns={mtime}\nsha256={hashlib.sha256(data).hexdigest()}\n")
open(f"{out}/manifest/hits.cache", "w").write("\n".join(group(*f) for f in files))
open(f"{out}/manifest/stale.cache", "w").write(group(*files[0]) + "\n" + group(*files[1], size=999))
# Regression: a hit whose digest is not hex (sepia used to copy it into manifest.json).
bad = group(*files[0])
bad = bad[:bad.index("sha256=") + 17] + ")" + bad[bad.index("sha256=") + 18:]
open(f"{out}/manifest/corrupt-digest.cache", "w").write(bad)
# bootloader_control: flags byte (bit 0: the target fixes the CRC; bit 1: also through a misc
# file), the 32 bytes, then operations (see fuzz-abmisc.c).
def control(suffix, nb, slots, crc=True):
    c = struct.pack("<4sIBBBB", suffix, 0x42414342, 1, nb, 0, 0)
    c += b"".join(struct.pack("<BB", p | t << 4 | s << 7, 0) for p, t, s in slots) + b"\0" * 8
    return c + struct.pack("<I", zlib.crc32(c) if crc else 0)
open(f"{out}/abmisc/default", "wb").write(b"\2" + control(b"_a", 2, [(15, 7, 0), (14, 7, 0), (0, 0, 0), (0, 0, 0)]))
open(f"{out}/abmisc/booted-b", "wb").write(b"\2" + control(b"_b", 2, [(14, 0, 0), (15, 1, 1), (0, 0, 0), (0, 0, 0)]) + bytes([0x11, 0x21, 0x42, 0x31, 0x00]))
open(f"{out}/abmisc/four", "wb").write(b"\1" + control(b"_d", 4, [(3, 2, 0), (0, 0, 1), (9, 0, 1), (9, 7, 0)], crc=False) + bytes([0x44, 0x11, 0x35, 0x12]))
# A small GPT as sepia's composite writer lays one out: 4 entries at LBA 2, misc with valid
# A/B metadata, boot_a, boot_b. Byte 0 (protective MBR, unread) holds fuzz-gpt's flags.
def entry(name, first, last):
    return (uuid.UUID("0fc63daf-8483-4772-8e79-3d69d8477de4").bytes_le + uuid.uuid4().bytes_le +
            struct.pack("<QQQ", first, last, 0) + name.encode("utf-16-le").ljust(72, b"\0"))
ents = entry("misc", 3, 10) + entry("boot_a", 11, 14) + entry("boot_b", 15, 18) + b"\0" * 128
hdr = struct.pack("<8sIIIIQQQQ16sQIII", b"EFI PART", 0x10000, 92, 0, 0, 1, 2047, 3, 2040,
                  uuid.uuid4().bytes_le, 2, 4, 128, zlib.crc32(ents))
hdr = hdr[:16] + struct.pack("<I", zlib.crc32(hdr)) + hdr[20:]
mbr = bytearray(512); mbr[510:512] = b"\x55\xaa"
misc = bytearray(8 * 512)
misc[2048:2080] = control(b"_a", 2, [(15, 7, 0), (14, 7, 0), (0, 0, 0), (0, 0, 0)])
disk = bytes(mbr) + hdr.ljust(512, b"\0") + ents + bytes(misc) + b"B" * 4096
open(f"{out}/gpt/small.img", "wb").write(disk)
mbr[0] = 0x13 | 0x20  # fix both CRCs, mark slot 1 successful through a writable open
open(f"{out}/gpt/small-flags.img", "wb").write(bytes(mbr) + disk[512:])
PY
# The virtio device targets (fuzz-blk, fuzz-net, fuzz-console): chains a driver would post.
python3 "$(dirname "$0")/make-virtio-seeds.py" "$out"
