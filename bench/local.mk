# bench: side-by-side numbers (bench/README.md). Run by hand or with `make bench`;
# never part of `make check`: timings are not pass/fail tests.
#   make bench                     both benchmarks below
#   make bench-payload             bench/vmm-vs-qemu.sh: a guest-kit payload, sepia-vmm vs QEMU
#   make bench-boot                bench/boot-reference.sh: the reference guest (needs `make guest`)
#   make bench BENCH_PAYLOAD_FLAGS='-n 9 -T' BENCH_BOOT_FLAGS='-n 1 -d DIR'
BENCH_SCRIPT_FILES = bench/vmm-vs-qemu.sh bench/boot-reference.sh bench/launch.sh bench/adb.sh bench/net.sh bench/kube.sh \
	bench/gpu.sh bench/gpu-memory-attack.sh bench/assemble.sh bench/sandbox.sh bench/nested-kvm.sh \
	bench/input.sh bench/boot-snapshot.sh bench/snapshot.sh bench/snapshot-ready.py bench/snapshot-pss.py bench/webview.sh bench/webview-frames.py
EXTRA_DIST += $(BENCH_SCRIPT_FILES) bench/nested-kvm-l1.sh bench/bench-lib.sh bench/rss-probe.c bench/rss-floor.c bench/copy-probe.c bench/README.md

BENCH_PAYLOAD_FLAGS =
BENCH_BOOT_FLAGS =
BENCH_ENVIRONMENT = top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' CC='$(CC)'

.PHONY: bench bench-payload bench-boot
bench: bench-payload bench-boot

bench-payload: sepia-vmm$(EXEEXT) tests/guest/serial.elf$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/vmm-vs-qemu.sh $(BENCH_PAYLOAD_FLAGS)

# Status 77: the reference guest (or /dev/kvm) is not there; say so, do not fail.
bench-boot: sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/boot-reference.sh $(BENCH_BOOT_FLAGS) || test $$? -eq 77

# `make bench-launch`: bench/launch.sh, launch_cvd's time split and the most instances at once.
BENCH_LAUNCH_FLAGS =
.PHONY: bench-launch
bench-launch: launch_cvd$(EXEEXT) run_cvd$(EXEEXT) stop_cvd$(EXEEXT) sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/launch.sh $(BENCH_LAUNCH_FLAGS) || test $$? -eq 77

# `make bench-adb`: bench/adb.sh, adb push throughput and adb shell latency through a launched device.
BENCH_ADB_FLAGS =
.PHONY: bench-adb
bench-adb: launch_cvd$(EXEEXT) run_cvd$(EXEEXT) stop_cvd$(EXEEXT) sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/adb.sh $(BENCH_ADB_FLAGS) || test $$? -eq 77
# `make bench-net`: bench/net.sh, guest->host TCP over virtio-net/TAP, sepia-vmm vs QEMU TCG (root).
BENCH_NET_FLAGS =
.PHONY: bench-net
bench-net: sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/net.sh $(BENCH_NET_FLAGS) || test $$? -eq 77
# `make bench-gpu`: bench/gpu.sh, full-screen 2D frames per second through virtio-gpu (2d and
# virgl), QEMU TCG's virtio-gpu and a plain copy.
BENCH_GPU_FLAGS =
.PHONY: bench-gpu
bench-gpu: sepia-vmm$(EXEEXT) tests/guest/gpu.elf$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/gpu.sh $(BENCH_GPU_FLAGS) || test $$? -eq 77
# `make bench-sandbox`: bench/sandbox.sh, a payload and the reference boot with the sandbox on and off.
BENCH_SANDBOX_FLAGS =
.PHONY: bench-sandbox
bench-sandbox: sepia-vmm$(EXEEXT) tests/guest/serial.elf$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/sandbox.sh $(BENCH_SANDBOX_FLAGS) || test $$? -eq 77

# `make bench-gpu-memory`: bench/gpu-memory-attack.sh, sepia-vmm's peak RSS while a guest piles up
# virtio-gpu resources with the largest backing (issue 13, defect 3).
BENCH_GPU_MEMORY_FLAGS =
.PHONY: bench-gpu-memory
bench-gpu-memory: sepia-vmm$(EXEEXT) tests/guest/gpu.elf$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/gpu-memory-attack.sh $(BENCH_GPU_MEMORY_FLAGS) || test $$? -eq 77
# `make bench-nested`: bench/nested-kvm.sh, sepia-vmm against QEMU -accel kvm on kvm_amd inside a QEMU
# TCG guest with an emulated AMD CPU (root; needs make guest).
BENCH_NESTED_FLAGS =
.PHONY: bench-nested
bench-nested: sepia-vmm$(EXEEXT) tests/guest/serial.elf$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/nested-kvm.sh $(BENCH_NESTED_FLAGS) || test $$? -eq 77

# `make bench-input`: bench/input.sh, tap-to-page (headless Chromium), tap-to-pixel and
# tap-to-event latency through a launched device, and /dev/hwrng's rate against virtio-rng's limit.
BENCH_INPUT_FLAGS =
.PHONY: bench-input
bench-input: launch_cvd$(EXEEXT) run_cvd$(EXEEXT) stop_cvd$(EXEEXT) sepia-vmm$(EXEEXT) cvd_input$(EXEEXT) cvd_display$(EXEEXT) sepia-webview$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/input.sh $(BENCH_INPUT_FLAGS) || test $$? -eq 77

# `make bench-kube`: bench/kube.sh, one device in a podman kube play pod against launch_cvd on
# the host (time to booted, memory). Needs root, podman and the image of `make container`.
BENCH_KUBE_FLAGS =
.PHONY: bench-kube
bench-kube: launch_cvd$(EXEEXT) run_cvd$(EXEEXT) stop_cvd$(EXEEXT) sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/kube.sh $(BENCH_KUBE_FLAGS) || test $$? -eq 77

# `make bench-snapshot`: bench/snapshot.sh, a restore from a snapshot against a cold boot of the
# reference guest (start to ready), and the snapshot's time and size.
BENCH_SNAPSHOT_FLAGS =
.PHONY: bench-snapshot
bench-snapshot: sepia-vmm$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/snapshot.sh $(BENCH_SNAPSHOT_FLAGS) || test $$? -eq 77

# `make bench-webview`: bench/webview.sh, frame delivery to a client (bytes and ms per frame) over
# the page's WebSocket against the PNG long poll, full screen and a small rectangle (no guest).
BENCH_WEBVIEW_FLAGS =
.PHONY: bench-webview
bench-webview: sepia-webview$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/webview.sh $(BENCH_WEBVIEW_FLAGS) || test $$? -eq 77
