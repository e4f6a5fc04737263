#!/usr/bin/env python3
"""Writes the committed seed corpora of the VMM, guest and control fuzzers:
tests/fuzz/corpus/{virtq,emulate,loader,adbd,control,http,websocket,webinput,snapshot}/. Each seed is a small input in the
layout its target's header comment describes. Run from anywhere:
    python3 tests/fuzz/make-corpus.py [OUTDIR]   (default: tests/fuzz/corpus beside this file)
The files are committed; rerunning rewrites them with the same bytes."""
import gzip
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


class Image:
    """A little-endian memory image that grows as it is written."""

    def __init__(self):
        self.b = bytearray()

    def put(self, off, data):
        if len(self.b) < off + len(data):
            self.b.extend(b"\0" * (off + len(data) - len(self.b)))
        self.b[off:off + len(data)] = data

    def u16(self, off, v):
        self.put(off, struct.pack("<H", v))

    def desc(self, table, i, addr, length, flags, nxt):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))


# ---- virtq: 24-byte header, then guest RAM from gpa 0 (mirrored at 0x8000 for 4 KiB).
NEXT, WRITE, INDIRECT = 1, 2, 4


def virtq(flags, log2size, desc, avail, used, last_avail, used_idx, seed, img):
    hdr = struct.pack("<BBHIIIHHI", flags, log2size, 0, desc, avail, used, last_avail, used_idx, seed)
    return hdr + bytes(img.b)


def virtq_seeds():
    # A readable + writable chain, then an indirect table, 16 entries.
    m = Image()
    m.desc(0x1000, 0, 0x3800, 64, NEXT, 1)
    m.desc(0x1000, 1, 0x3900, 128, WRITE, 0)
    m.desc(0x1000, 2, 0x1800, 48, INDIRECT, 0)
    m.desc(0x1800, 0, 0x3a00, 16, NEXT, 1)
    m.desc(0x1800, 1, 0x3b00, 32, NEXT | WRITE, 2)
    m.desc(0x1800, 2, 0x8100, 8, WRITE, 0)  # in the second region
    m.u16(0x2000 + 2, 2)
    m.u16(0x2000 + 4, 0)
    m.u16(0x2000 + 6, 2)
    m.put(0x3800, bytes(range(64)))
    m.put(0x3fff, b"\0")
    write("virtq", "chain-and-indirect", virtq(3, 4, 0x1000, 0x2000, 0x3000, 0, 0, 0x12345, m))
    # The same rings with the device's indices about to wrap.
    m.u16(0x2000 + 2, 1)
    write("virtq", "wrap", virtq(3, 4, 0x1000, 0x2000, 0x3000, 0xffff, 0xffff, 7, m))
    # A loop in the descriptor table, and an index past the table.
    m = Image()
    m.desc(0x100, 0, 0x800, 4, NEXT, 1)
    m.desc(0x100, 1, 0x800, 4, NEXT, 0)
    m.desc(0x100, 2, 0x800, 4, NEXT, 9)
    m.u16(0x200 + 2, 2)
    m.u16(0x200 + 4, 0)
    m.u16(0x200 + 6, 2)
    m.put(0x3ff, b"\0")
    write("virtq", "loop", virtq(0, 2, 0x100, 0x200, 0x300, 0, 0, 99, m))
    # A long chain through a 256-entry queue, writable segments only.
    m = Image()
    for i in range(200):
        m.desc(0x0, i, 0x3000 + 4 * i, 4, WRITE | NEXT, i + 1)
    m.desc(0x0, 200, 0x3400, 4, WRITE, 0)
    m.u16(0x1000 + 2, 1)
    m.put(0x3fff, b"\0")
    write("virtq", "long-chain", virtq(1, 8, 0x0, 0x1000, 0x2000, 0, 0, 5, m))


# ---- emulate: 232-byte header, then the memory image (above the built tables, or all of RAM).
def emulate(mode, insn, flags1=0, page=0, rip=0x9000, regs=None, cr=(0, 0, 0, 0), image=b"", mask=True,
            cpl3=False, ac=False, mxcsr=0x1f80, bases=(0, 0, 0, 0, 0, 0)):
    f0 = mode | (8 if cpl3 else 0) | (64 if ac else 0) | (128 if mask else 0)
    regs = regs or [0x10000] * 16
    h = bytearray(232)
    h[0], h[1], h[2], h[3] = f0, flags1, page, 0
    h[4:12] = struct.pack("<Q", rip)
    h[12:16] = struct.pack("<I", 2)
    h[16:20] = struct.pack("<I", mxcsr)
    h[20:36] = struct.pack("<4I", *bases[:4])
    h[36:52] = struct.pack("<2Q", *bases[4:])
    h[52:180] = struct.pack("<16Q", *regs)
    cr3, cr0, cr4, efer = cr
    h[180:200] = struct.pack("<QIII", cr3, cr0, cr4, efer)
    h[200:216] = bytes(range(0x40, 0x50))
    h[216:216 + len(insn)] = insn
    return bytes(h) + image


def emulate_seeds():
    insns = {
        "int3": b"\xcc",
        "ud2": b"\x0f\x0b",
        "stac": b"\x0f\x01\xcb",
        "fwait": b"\x9b",
        "mfence": b"\x0f\xae\xf0",
        "ldmxcsr": b"\x0f\xae\x10",
        "stmxcsr-sib-disp8": b"\x0f\xae\x5c\x24\x10",
        "fxsave64": b"\x48\x0f\xae\x00",
        "fxrstor": b"\x0f\xae\x08",
        "vldmxcsr": b"\xc5\xf8\xae\x10",
        "popcnt": b"\xf3\x48\x0f\xb8\xc3",
        "popcnt-mem": b"\x66\xf3\x0f\xb8\x00",
        "cmpxchg8b": b"\xf0\x0f\xc7\x08",
        "cmpxchg16b": b"\xf0\x48\x0f\xc7\x08",
        "movdqa-load": b"\x66\x0f\x6f\x00",
        "movdqu-store-rip": b"\xf3\x0f\x7f\x05\x00\x01\x00\x00",
        "movaps-r12": b"\x41\x0f\x28\x04\x24",
        "movq-store": b"\x66\x0f\xd6\x00",
        "pxor": b"\x66\x0f\xef\xc1",
        "movq-from-gpr": b"\x66\x48\x0f\x6e\xc0",
        "movd-to-gpr": b"\x66\x0f\x7e\xc0",
    }
    for name, insn in insns.items():
        write("emulate", "long-" + name, emulate(3, insn, flags1=16, image=bytes(64)))
    write("emulate", "la57-fxsave", emulate(4, b"\x0f\xae\x00", rip=0xffffffff81009000))
    write("emulate", "compat-cmpxchg8b", emulate(5, b"\x0f\xc7\x08"))
    write("emulate", "pae-movups", emulate(2, b"\x0f\x10\x00", page=2))
    write("emulate", "paging32-pse-stmxcsr", emulate(1, b"\x0f\xae\x18", flags1=64, rip=0x409000))
    write("emulate", "flat32-int3", emulate(0, b"\xcc", bases=(0x1000, 0, 0, 0, 0, 0), rip=0x8000))
    write("emulate", "user-smap-fault", emulate(3, b"\x0f\xae\x18", cpl3=True, page=2))
    write("emulate", "ts-nm", emulate(3, b"\x0f\xae\x00", flags1=1))
    # Odd pages not present: instructions that run into the unmapped page after 0x8000.
    write("emulate", "partial-modrm", emulate(3, b"\x0f\xae\x10", page=4, rip=0x8FFE))
    write("emulate", "partial-sib-disp32", emulate(3, b"\x0f\xae\x14\x25\x00\x10", page=4, rip=0x8FFC))
    # Raw control registers, 4-level paging over tables in the image itself (identity 2 MiB).
    img = bytearray(0x3000)
    img[0x1000:0x1008] = struct.pack("<Q", 0x2003)
    img[0x2000:0x2008] = struct.pack("<Q", 0x83)
    img[0x2008:0x2010] = struct.pack("<Q", 0x2003)  # a table pointing at itself
    write("emulate", "raw-tables", emulate(6, b"\x0f\xae\x10", rip=0x2800, image=bytes(img),
                                           cr=(0x1000, 0x80010001, 0x220, 0x501)))


# ---- loader: 4-byte header (flags, long command line / 32, initrd length), kernel, initrd.
def elf(segments, notes=b"", entry=0x1000000):
    """A 64-bit x86 ELF: PT_LOAD segments (paddr, data, memsz) and an optional PT_NOTE."""
    phnum = len(segments) + (1 if notes else 0)
    off = 64 + 56 * phnum
    phdrs, body = b"", b""
    for paddr, data, memsz in segments:
        phdrs += struct.pack("<IIQQQQQQ", 1, 7, off + len(body), paddr, paddr, len(data), memsz, 0x1000)
        body += data
    if notes:
        phdrs += struct.pack("<IIQQQQQQ", 4, 4, off + len(body), 0, 0, len(notes), len(notes), 4)
        body += notes
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + b"\0" * 9
    ehdr += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, phnum, 64, 0, 0)
    return ehdr + phdrs + body


def lz4_literals(data):
    """One LZ4 block holding data as literals only (a valid, if useless, compression)."""
    n = len(data)
    if n < 15:
        return bytes([n << 4]) + data
    ext, rest = b"", n - 15
    while rest >= 255:
        ext += b"\xff"
        rest -= 255
    return b"\xf0" + ext + bytes([rest]) + data


def lz4_legacy(data):
    block = lz4_literals(data)
    return struct.pack("<II", 0x184C2102, len(block)) + block + struct.pack("<I", len(data))


def bzimage(payload, setup_sects=3, pref=16 << 20, init_size=0x10000, cmdline_size=2047, initrd_max=0x7FFFFFFF):
    setup = bytearray(((setup_sects or 4) + 1) * 512)
    setup[0x1F1] = setup_sects
    setup[0x1FE:0x200] = b"\x55\xaa"
    setup[0x200:0x202] = b"\xeb\x6a"
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, 0x20F)
    setup[0x211] = 1
    struct.pack_into("<I", setup, 0x22C, initrd_max)
    struct.pack_into("<I", setup, 0x230, 2 << 20)
    struct.pack_into("<H", setup, 0x236, 3)
    struct.pack_into("<I", setup, 0x238, cmdline_size)
    struct.pack_into("<II", setup, 0x248, 0x40, len(payload))
    struct.pack_into("<Q", setup, 0x258, pref)
    struct.pack_into("<I", setup, 0x260, init_size)
    # the protected-mode code: 0x40 bytes of "startup_32", then the compressed payload
    return bytes(setup) + b"\x90" * 0x40 + payload


def loader(flags, kernel, initrd=b"", cmdline_units=0):
    return struct.pack("<BBH", flags | (2 if initrd else 0), cmdline_units, len(initrd)) + kernel + initrd


def loader_seeds():
    vmlinux = elf([(0x100000, bytes(range(256)) * 2, 0x800), (0x180000, b"\xcc" * 64, 64)])
    pvh_note = struct.pack("<III", 4, 4, 18) + b"Xen\0" + struct.pack("<I", 0x100040)
    pvh = elf([(0x100000, b"\xf4" * 128, 128)], notes=pvh_note)
    write("loader", "vmlinux", loader(0, vmlinux))
    write("loader", "pvh-initrd", loader(16, pvh, initrd=b"initrd" * 50))
    write("loader", "bzimage-initrd", loader(0, bzimage(b"\xe8" * 1024), initrd=b"R" * 300))
    write("loader", "bzimage-cmdline-size", loader(4, bzimage(b"\x90" * 64, setup_sects=0, cmdline_size=100),
                                                   cmdline_units=3))
    write("loader", "bzimage-lz4", loader(1, bzimage(lz4_legacy(vmlinux))))
    write("loader", "bzimage-gzip", loader(1, bzimage(gzip.compress(vmlinux, mtime=0))))
    write("loader", "unpack-lz4", loader(8, lz4_legacy(pvh)))
    write("loader", "unpack-lz4-block", loader(8, bytes([0x24]) + b"ab\x02\x00\x10!"))
    write("loader", "unpack-gzip", loader(8, gzip.compress(b"sepia" * 100, mtime=0)))


# ---- adbd: byte 0 picks the parser.
def adb_msg(cmd, arg0, arg1, data):
    c = struct.unpack("<I", cmd)[0]
    return struct.pack("<6I", c, arg0, arg1, len(data), sum(data) & 0xFFFFFFFF, c ^ 0xFFFFFFFF) + data


def adbkey_pub(words, seed):
    """adb's public key struct for an odd number of words * 32 bits (not a real RSA modulus:
    the parser checks only the struct's rules), base64 and a comment."""
    import base64
    n = (1 << (32 * words - 1)) | (seed * 0x9E3779B97F4A7C15 % (1 << (32 * words - 1))) | 1
    n0inv = (-pow(n, -1, 1 << 32)) % (1 << 32)
    rr = (1 << (64 * words)) % n
    blob = struct.pack("<II", words, n0inv) + n.to_bytes(4 * words, "little") + rr.to_bytes(4 * words, "little")
    blob += struct.pack("<I", 65537)
    return base64.b64encode(blob) + b" fuzz@sepia\n"


def adbd_seeds():
    stream = adb_msg(b"CNXN", 0x01000000, 4096, b"host::features=shell_v2\0")
    stream += adb_msg(b"OPEN", 1, 0, b"shell,v2,raw:ls\0") + adb_msg(b"WRTE", 1, 1, b"\0\3\0\0\0abc")
    write("adbd", "messages", b"\0" + stream)
    packets = b"\0\3\0\0\0abc" + b"\4\0\0\0\0" + b"\5\x0a\0\0\0" + b"24x80,0x0\0"
    write("adbd", "shell-packets", b"\1" + packets)
    write("adbd", "window-size", b"\2" + b"24x80,640x480\0")
    write("adbd", "service-shell", b"\3" + b"shell,v2,TERM=xterm-256color,raw:ls -l /")
    write("adbd", "service-reboot", b"\3" + b"reboot:bootloader")
    write("adbd", "service-forward", b"\3" + b"tcp:8080")
    write("adbd", "service-reverse", b"\3" + b"reverse:forward:norebind:tcp:0;tcp:5037")
    write("adbd", "service-reverse-kill", b"\3" + b"reverse:killforward:tcp:6000")
    write("adbd", "service-root", b"\3" + b"unroot:")
    write("adbd", "base64", b"\4\1" + b"c2VwaWE=")
    write("adbd", "adbkey-pub", b"\5" + adbkey_pub(16, 1) + b"# comment\n" + adbkey_pub(64, 2))
    write("adbd", "verify-2048", b"\6\2" + bytes(range(20)) + bytes(range(256)))
    write("adbd", "verify-modulus-minus-1", b"\6\x80" + bytes(range(20)) + b"\xff")
    write("adbd", "padding-valid", b"\7\0" + bytes(range(20)))
    write("adbd", "padding-edit", b"\7\1" + bytes(range(20)) + b"\x05\x00\x01")


# ---- control: byte 0 picks the side (0 request, 1 response), then a framed protobuf message.
def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def pb_int(field, v):
    return varint(field << 3) + varint(v)


def pb_bytes(field, data):
    return varint(field << 3 | 2) + varint(len(data)) + data


def framed(side, msg):
    return bytes([side]) + struct.pack(">I", len(msg)) + msg


def control_seeds():
    write("control", "status", framed(0, b""))
    write("control", "stop-timeout", framed(0, pb_int(1, 1) + pb_int(2, 30)))
    write("control", "unknown-command", framed(0, pb_int(1, 9) + pb_bytes(7, b"unknown field")))
    write("control", "too-large", bytes([0]) + struct.pack(">I", 65537) + b"\0" * 16)
    status = (pb_bytes(1, b"cvd-1") + pb_bytes(2, b"/root/cuttlefish/instances/cvd-1") + pb_bytes(4, b"127.0.0.1:6520")
              + pb_int(5, 2) + pb_int(6, 4242) + pb_int(7, (1 << 64) - 1) + pb_int(8, 2) + pb_int(10, 39)
              + pb_bytes(11, b"_a") + pb_bytes(12, b"green") + pb_int(13, 1) + pb_int(15, 3)
              + pb_bytes(14, "q\"uote\\ \t\x01 \u2028 é".encode() + b" \xff\xc3"))
    write("control", "response-status", framed(1, pb_int(1, 1) + pb_bytes(3, status)))
    write("control", "response-refusal", framed(1, pb_bytes(2, b"the instance is stopping")))
    # A 5-byte field tag whose last byte has all bits set: protobuf-c shifts them into an
    # int's sign bit (undefined behaviour in the library; see README.md).
    write("control", "request-five-byte-tag", framed(0, pb_int(1, 1) + b"\xff\xff\xff\xff\xff\x01"))


# ---- http: byte 0 picks the parser (fuzz-http.c): 0 a connection's stream, 1 one head, 2 a Host
# value (NUL, then --allowed-hosts), 3 a query string (NUL, then a name).
def http_seeds():
    get = b"GET /display0/frames?after=1-2-3&wait=20000 HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n" \
          b"Connection: keep-alive\r\nUser-Agent: seed\r\n\r\n"
    write("http", "pipelined", b"\0" + get + b"\r\n" + b"HEAD /display0.png HTTP/1.1\nHost: localhost\n\n"
          + b"GET / HTTP/1.0\r\n\r\n")
    write("http", "cut-short", b"\0" + get[:40])
    write("http", "body-and-close", b"\0POST / HTTP/1.1\r\nHost: [::1]:8443\r\nContent-Length: 5\r\n"
          b"Connection: close\r\n\r\nhello")
    write("http", "upgrade", b"\0GET /ws HTTP/1.1\r\nHost: localhost:8443\r\nUpgrade: websocket\r\n"
          b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
          b"Sec-WebSocket-Version: 13\r\nOrigin: http://localhost:8443\r\n\r\n")
    write("http", "head-two-hosts", b"\1GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
    write("http", "head-bad-version", b"\1GET / HTTP/2.0\r\n\r\n")
    write("http", "head-nul", b"\1GET /\0 HTTP/1.1\r\nHost: x\r\n\r\n")
    write("http", "head-no-colon", b"\1GET / HTTP/1.1\r\nHost x\r\n\r\n")
    for i, host in enumerate([b"localhost:8443", b"[::1]:1", b"127.1.2.3", b"dev.example\0dev.example,[fe80::1]",
                              b"[fe80::1]:99\0[fe80::1]", b"evil.example:8443", b"127.0.0.1:99999", b"a b"]):
        write("http", f"host-{i}", b"\2" + host)
    write("http", "query", b"\3after=1-2&wait=25000&x\0wait")
    write("http", "query-empty-name", b"\3=1&a=b\0")


# ---- websocket: byte 0 even: a client's frames (its upper bits cut the stream into pieces);
# odd: an opening handshake head (fuzz-websocket.c).
def ws_frame(b0, payload, key=b"\x37\xfa\x21\x3d", masked=True):
    n = len(payload)
    if n < 126:
        head = bytes([b0, (0x80 if masked else 0) | n])
    elif n <= 0xffff:
        head = bytes([b0, (0x80 if masked else 0) | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, (0x80 if masked else 0) | 127]) + struct.pack(">Q", n)
    if not masked:
        return head + payload
    return head + key + bytes(c ^ key[i % 4] for i, c in enumerate(payload))


def websocket_seeds():
    write("websocket", "input-lines", b"\x06" + ws_frame(0x81, b"t 0 d 1 32768 32768\nt 0 u 1 32768 32768")
          + ws_frame(0x81, b"k KeyA 1\nk KeyA 0") + ws_frame(0x81, b"b power 1"))
    write("websocket", "fragments-and-ping", b"\x00" + ws_frame(0x01, b"Hel") + ws_frame(0x89, b"ping")
          + ws_frame(0x00, b"l") + ws_frame(0x80, b"o") + ws_frame(0x8a, b""))
    write("websocket", "long-forms", b"\x0a" + ws_frame(0x82, bytes(200)) + ws_frame(0x82, bytes(4096)))
    write("websocket", "close", b"\x00" + ws_frame(0x88, b"\x03\xe8bye") + ws_frame(0x88, b""))
    write("websocket", "unmasked", b"\x00" + ws_frame(0x81, b"hi", masked=False))
    write("websocket", "too-big", b"\x00\x82\xff\x00\x00\x00\x00\x40\x00\x00\x00")
    write("websocket", "bad-utf8", b"\x00" + ws_frame(0x81, b"\xff\xfe"))
    write("websocket", "reserved-opcode", b"\x00" + ws_frame(0x83, b"x") + ws_frame(0x8b, b""))
    head = (b"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nUpgrade: websocket\r\n"
            b"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n")
    write("websocket", "handshake", b"\x01" + head + b"Origin: http://127.0.0.1:8443\r\n\r\n")
    write("websocket", "handshake-no-origin", b"\x01" + head + b"\r\n")
    write("websocket", "handshake-foreign-origin", b"\x01" + head + b"Origin: http://evil.example\r\n\r\n")


# ---- webinput: byte 0 the display's size (16 << (b & 7) by 16 << ((b >> 3) & 7)), then lines.
def webinput_seeds():
    write("webinput", "tap", b"\x1a" + b"t 0 d 1 32768 16384\nt 0 m 1 32000 16000\nt 0 u 1 32000 16000")
    write("webinput", "two-fingers", b"\x12" + b"t 0 d 1 100 200\nt 0 d 2 60000 50000\nt 0 m 2 1 1\n"
          b"t 0 u 1 0 0\nt 0 c 2 0 0")
    write("webinput", "eleven-fingers", b"\x3f" + b"\n".join(b"t 1 d %d %d %d" % (i, i * 5000, 65535 - i)
                                                           for i in range(11)))
    write("webinput", "keys-buttons", b"\x00" + b"k KeyA 1\nk KeyA 2\nk KeyA 0\nk ShiftLeft 1\nb power 1\n"
          b"b volumeup 0\nb volumedown 1")
    write("webinput", "malformed", b"\x00" + b"t 64 d 1 1 1\nt 0 x 1 1 1\nt 0 d -1 1 1\nk Nope 1\nb reset 1\n"
          b"t 0 d 1 65536 1\n\nx")


# ---- snapshot: the payload of a state file (fuzz-snapshot.c wraps each input in a valid
# header and checksum, and also tries it as a whole file). Sections: u16 name length, name,
# u32 data length, data (devices/snapshot.h).
def section(name, data):
    return struct.pack("<H", len(name)) + name + struct.pack("<I", len(data)) + data


def pci_config(vendor, device, class_rev, sub_vendor, sub_device, bar0=0, command=0):
    c = bytearray(256)
    struct.pack_into("<HHH", c, 0, vendor, device, command)
    struct.pack_into("<I", c, 8, class_rev)
    struct.pack_into("<I", c, 0x10, bar0)
    struct.pack_into("<HH", c, 0x2C, sub_vendor, sub_device)
    return bytes(c)


def snapshot_seeds():
    # The machine the fuzzer builds: the host bridge in slot 0, one device with a 64-bit
    # BAR0 in slot 1; the guest moved BAR0 to 0xd0000000 and enabled decoding.
    bridge = pci_config(0x1B36, 0x0008, 0x06000000, 0x1B36, 0x0008)
    dev = pci_config(0x1AF4, 0x1041, 0x01800001, 0x1AF4, 0x1041, bar0=0xD0000004, command=6)
    pci = struct.pack("<II", 0x80000800, 3)
    for c in (bridge, dev):
        pci += struct.pack("<I", len(c)) + c
    serial = struct.pack("<I", 9) + bytes([0, 0, 0, 0, 0, 0, 0, 0, 0]) + struct.pack("<I", 2) + b"hi"
    write("snapshot", "pci-and-serial", section(b"sepia-version", b"0") + section(b"machine", b"cpus=1")
          + section(b"pci", pci) + section(b"serial", serial))
    # An empty section, then one whose length runs past the end.
    write("snapshot", "empty-sections", section(b"a", b"") + struct.pack("<H", 1) + b"b"
          + struct.pack("<I", 7) + b"\xff" * 7)


if __name__ == "__main__":
    virtq_seeds()
    emulate_seeds()
    loader_seeds()
    adbd_seeds()
    control_seeds()
    http_seeds()
    websocket_seeds()
    webinput_seeds()
    snapshot_seeds()
