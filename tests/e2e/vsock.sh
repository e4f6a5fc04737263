#!/bin/sh
# End to end: virtio-vsock on the reference guest, one boot. The guest runs `vsock-echo 7000`
# (guest/tools/vsock-echo.c) and, at boot, connects to host ports 9000 (a unix listener at
# $work/vsock.sock_9000 that answers) and 9001 (nothing listens: RST). From the host:
#   - 50 connections at once through `CONNECT 7000`, each sending 2 MiB of random data
#     and reading it back, SHA-256 compared; throughput and sepia-vmm's CPU time reported
#   - CONNECT to a guest port without listener, and a malformed line: the socket closes
#   - sepia-vsock-proxy relays a TCP client to the guest's echo; SIGTERM stops it, status 0
# SEPIA_VSOCK_CONNS / SEPIA_VSOCK_MIB change the bulk run's size. On the interpreting KVM
# host (guest kernel code in software, 2 shared cores) the full 50 x 2 MiB run took 1713 s
# (0.12 MiB/s both ways counted; sepia-vmm 800 s CPU, nearly all in the vCPUs' KVM_RUN,
# 0.2 s in the I/O thread that runs the device): the guest kernel's vsock stack is the cost.
# So on such a host (/sys/module/kvm_pvm) each connection sends 128 KiB by default, keeping
# the run to about a minute; SEPIA_VSOCK_MIB=2 runs the full size.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
vmm=$top_builddir/sepia-vmm
proxy=$top_builddir/sepia-vsock-proxy
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}
limit=${SEPIA_REF_TIMEOUT:-900}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -x "$vmm" ] && [ -x "$proxy" ] || skip "sepia-vmm or sepia-vsock-proxy not built"
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"

work=$(mktemp -d /tmp/sepia-vsock.XXXXXX)
trap 'rm -rf "$work"' EXIT
# sepia-vmm runs in its sandbox (the default): as root it connects to host ports' sockets as
# an unprivileged uid, which needs search permission here and write permission on them.
chmod 0711 "$work"

cat > "$work/driver.py" <<'EOF_PY'
import hashlib, os, signal, socket, subprocess, sys, threading, time

work, vmm, proxy, kernel, initrd = sys.argv[1:6]
limit = float(os.environ.get("LIMIT", "900"))
conns = int(os.environ.get("SEPIA_VSOCK_CONNS", "50"))
# 2 MiB each; 128 KiB on a host whose KVM interprets guest kernel code (see the header).
default_mib = "0.125" if os.path.exists("/sys/module/kvm_pvm") else "2"
size = int(float(os.environ.get("SEPIA_VSOCK_MIB", default_mib)) * 1024 * 1024)
deadline = time.monotonic() + limit
sock = work + "/vsock.sock"
results = open(work + "/results", "w")

def result(key, value):
    results.write("%s=%s\n" % (key, value))
    results.flush()

# The host side the guest connects to at boot: port 9000 answers one line.
host9000 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
host9000.bind(sock + "_9000")
os.chmod(sock + "_9000", 0o666)  # the jailed VMM's uid connects (see the chmod of $work)
host9000.listen(4)
def serve9000():
    c, _ = host9000.accept()
    line = b""
    while not line.endswith(b"\n"):
        d = c.recv(100)
        if not d:
            break
        line += d
    c.sendall(b"host-got: " + line)
    c.close()
threading.Thread(target=serve9000, daemon=True).start()

run = ('vsock-echo 7000 & sleep 1; vsock-echo --connect 2 9000 hello-from-guest; '
       'vsock-echo --connect 2 9001; echo VSOCK-READY-$((6*7)); sleep 100000')
cmdline = 'console=ttyS0 panic=-1 sepia.run="%s"' % run
serial = work + "/serial"
vmm_p = subprocess.Popen([vmm, "--kernel", kernel, "--initrd", initrd, "--cpus", "2", "--mem", "512",
                          "--cmdline", cmdline, "--serial", "file:" + serial,
                          "--vsock", "cid=3,socket=" + sock],
                         stdin=subprocess.DEVNULL, stderr=open(work + "/vmm.log", "w"))

def seen(text):
    try:
        with open(serial, "rb") as f:
            return text.encode() in f.read()
    except FileNotFoundError:
        return False

boot_start = time.monotonic()
while not seen("VSOCK-READY-42"):
    if vmm_p.poll() is not None or time.monotonic() > deadline:
        result("ready", "no")
        break
    time.sleep(0.5)
else:
    result("ready", "yes")
    result("boot_seconds", "%.1f" % (time.monotonic() - boot_start))

def thread_cpu(path):
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

def vmm_cpu():
    """(whole process, the I/O thread where the vsock device runs) CPU seconds."""
    io = 0.0
    for tid in os.listdir("/proc/%d/task" % vmm_p.pid):
        try:
            with open("/proc/%d/task/%s/comm" % (vmm_p.pid, tid)) as f:
                if f.read().strip() == "sepia-io":
                    io += thread_cpu("/proc/%d/task/%s/stat" % (vmm_p.pid, tid))
        except OSError:
            pass
    return thread_cpu("/proc/%d/stat" % vmm_p.pid), io

def connect(port):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(max(1.0, deadline - time.monotonic()))
    s.connect(sock)
    s.sendall(b"CONNECT %d\n" % port)
    line = b""
    while not line.endswith(b"\n"):
        d = s.recv(1)
        if not d:
            return s, line
        line += d
    return s, line

def echo_one(i, out):
    try:
        data = os.urandom(size)
        s, line = connect(7000)
        if not line.startswith(b"OK "):
            out[i] = "no OK: %r" % line
            return
        def send():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        t = threading.Thread(target=send)
        t.start()
        h = hashlib.sha256()
        got = 0
        while True:
            d = s.recv(65536)
            if not d:
                break
            h.update(d)
            got += len(d)
        t.join()
        s.close()
        out[i] = "ok" if h.digest() == hashlib.sha256(data).digest() else "mismatch (%d of %d bytes)" % (got, size)
    except Exception as e:
        out[i] = "error: %s" % e

def listening(port):
    """Whether the guest's echo accepts on port: the guest starts it in the background, and how
    soon it listens depends on this guest's speed, not on a fixed wait."""
    while time.monotonic() < deadline and vmm_p.poll() is None:
        try:
            s, line = connect(port)
            s.close()
            if line.startswith(b"OK "):
                return True
        except OSError:
            pass
        time.sleep(0.5)
    return False

if vmm_p.poll() is None and seen("VSOCK-READY-42"):
    result("echo_listening", "yes" if listening(7000) else "no")
    out = [None] * conns
    cpu0 = vmm_cpu()
    t0 = time.monotonic()
    threads = [threading.Thread(target=echo_one, args=(i, out)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu1 = vmm_cpu()
    cpu, io_cpu = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    good = sum(1 for o in out if o == "ok")
    result("echo_ok", good)
    result("echo_conns", conns)
    for o in out:
        if o != "ok":
            result("echo_failure", o)
            break
    result("echo_seconds", "%.2f" % elapsed)
    result("echo_mib_per_s", "%.2f" % (2 * conns * size / 1048576 / elapsed))
    result("echo_vmm_cpu_seconds", "%.2f" % cpu)
    result("echo_io_thread_cpu_seconds", "%.2f" % io_cpu)

    # No listener on guest port 7001: the guest answers RST, the socket closes without OK.
    s, line = connect(7001)
    result("no_listener", "closed" if line == b"" else "got %r" % line)
    s.close()
    # A malformed line closes the socket.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock)
    s.sendall(b"HELLO there\n")
    try:
        d = s.recv(100)
        result("malformed", "closed" if d == b"" else "got %r" % d)
    except ConnectionResetError:
        result("malformed", "closed")
    s.close()

    # sepia-vsock-proxy: a TCP client reaches the guest's echo.
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    plog = open(work + "/proxy.log", "w")
    px = subprocess.Popen([proxy, "--listen=127.0.0.1:%d" % port, "--vsock_socket=" + sock, "--port=7000"],
                          stderr=plog)
    data = os.urandom(256 * 1024)
    reply = b""
    for _ in range(50):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=60)
            break
        except ConnectionRefusedError:
            time.sleep(0.1)
    def psend():
        c.sendall(data)
        c.shutdown(socket.SHUT_WR)
    t = threading.Thread(target=psend)
    t.start()
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            reply += d
    except Exception as e:
        result("proxy_error", e)
    t.join()
    c.close()
    result("proxy_echo", "ok" if reply == data else "mismatch (%d of %d bytes)" % (len(reply), len(data)))
    px.send_signal(signal.SIGTERM)
    try:
        result("proxy_status", px.wait(timeout=30))
    except subprocess.TimeoutExpired:
        px.kill()
        result("proxy_status", "timeout")

if vmm_p.poll() is None:
    vmm_p.send_signal(signal.SIGTERM)
try:
    result("vmm_status", vmm_p.wait(timeout=60))
except subprocess.TimeoutExpired:
    vmm_p.kill()
    result("vmm_status", "timeout")
EOF_PY

LIMIT=$limit python3 "$work/driver.py" "$work" "$vmm" "$proxy" "$guest/vmlinux" "$guest/initramfs.cpio"
sed 's/^/# vmm: /' "$work/vmm.log"
sed 's/^/# proxy: /' "$work/proxy.log" 2>/dev/null
grep -E 'vsock-echo|VSOCK-READY|Kernel panic|virtio_vsock|vsock' "$work/serial" | sed 's/^/# guest: /'
sed 's/^/# result: /' "$work/results"

n=0
check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
}
res() { sed -n "s/^$1=//p" "$work/results" | head -n 1; }

echo "1..9"
check "the guest booted with vsock-echo listening" [ "$(res ready)" = yes ]
check "$(res echo_conns) parallel connections echo their random data, SHA-256 equal ($(res echo_ok) ok, $(res echo_mib_per_s) MiB/s, VMM CPU $(res echo_vmm_cpu_seconds) s, of which the I/O thread $(res echo_io_thread_cpu_seconds) s)" \
	[ -n "$(res echo_ok)" ] && [ "$(res echo_ok)" = "$(res echo_conns)" ]
check "CONNECT to a guest port without listener is closed (RST path)" [ "$(res no_listener)" = closed ]
check "a malformed CONNECT line is closed" [ "$(res malformed)" = closed ]
check "a guest connect to host port 9000 reaches the unix listener vsock.sock_9000 and gets its answer" \
	grep -q 'vsock-echo: reply: host-got: hello-from-guest' "$work/serial"
check "a guest connect to host port 9001 (no listener) is reset" \
	grep -q 'vsock-echo: connect to 2:9001: Connection reset by peer' "$work/serial"
check "sepia-vsock-proxy relays a TCP client to the guest's echo" [ "$(res proxy_echo)" = ok ]
check "sepia-vsock-proxy logs the connection and exits 0 on SIGTERM" \
	sh -c "grep -q 'connected to guest vsock port 7000' '$work/proxy.log' && [ '$(res proxy_status)' = 0 ]"
check "sepia-vmm stops with status 0 on SIGTERM" [ "$(res vmm_status)" = 0 ]
