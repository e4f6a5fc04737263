#!/bin/sh
# Installs what sepia needs to build and test: apt on Debian/Ubuntu, dnf on CentOS/Fedora.
# Run as root. Idempotent: packages already present are left alone.
# strace: devices/sandbox/learn-syscalls.py learns the VMM's system calls from its traces.
# Test-only: libpng (tests/unit/test-png decodes sepia's PNGs with it), python3's PIL and
# chromium and firefox (the display tools' end-to-end tests check pixels and load the web view's
# page in both browsers; Debian's Firefox is firefox-esr), clang
# with its libFuzzer/ASan/UBSan runtime (tests/fuzz/smoke.sh builds and runs the fuzz targets).
# dnsmasq-base (not dnsmasq) on Debian: sepia-host-resources runs its own dnsmasq per bridge and
# needs no system-wide dnsmasq service. dpkg-dev/debhelper/rpm build the packages (make deb, make rpm).
# Nothing is taken for granted beyond a minimal Debian 12 (mmdebstrap --variant=minbase): rsync
# (the kernel's headers_install), lz4 (the guest kernel's compression), kmod, iputils-ping and curl
# (the network and web view tests) are listed too. scripts/check-fresh-machine.sh proves the list:
# run it after any change here.
# The container image and its tests (make container, tests/kube/kube-play.sh, tests/kube/manifests.sh):
# mmdebstrap (Debian only: elsewhere build the image on a Debian host), podman with runc (this
# sandbox's podman needs runc, not crun, which refuses hybrid cgroups; the test also gives it the
# cgroupfs manager and explicit nofile/nproc ulimits), catatonit (the pause process of a played
# pod), netavark and iptables for its published ports, python3's yaml and node/npm for the
# manifests' schema check.
set -eu

DEBIAN_PACKAGES="
  build-essential autoconf automake libtool pkg-config linux-libc-dev rsync lz4 kmod
  libglib2.0-dev zlib1g-dev libnl-3-dev libnl-route-3-dev libprotobuf-c-dev protobuf-c-compiler
  libvirglrenderer-dev libegl-dev libegl-mesa0 libgl1-mesa-dri libseccomp-dev strace
  linux-source-6.1 busybox-static bc flex bison libelf-dev libssl-dev openssl cpio xz-utils
  e2fsprogs qemu-system-x86 qemu-utils mkbootimg adb procps patch fdisk
  dnsmasq-base iproute2 nftables systemd iputils-ping curl
  dpkg-dev debhelper rpm
  android-sdk-libsparse-utils python3
  linux-image-cloud-amd64
  libpng-dev python3-pil chromium firefox-esr clang libclang-rt-dev
  mmdebstrap podman runc catatonit netavark iptables python3-yaml nodejs npm
"
RPM_PACKAGES="
  gcc make autoconf automake libtool pkgconf-pkg-config kernel-headers rsync lz4 kmod
  glib2-devel zlib-devel libnl3-devel protobuf-c-devel protobuf-c-compiler virglrenderer-devel
  libglvnd-devel mesa-libEGL mesa-dri-drivers libseccomp-devel strace
  busybox bc flex bison elfutils-libelf-devel openssl-devel openssl cpio xz e2fsprogs
  qemu-kvm qemu-img android-tools procps-ng patch util-linux python3
  dnsmasq iproute nftables systemd rpm-build systemd-rpm-macros iputils curl
  libpng-devel python3-pillow chromium firefox clang compiler-rt
  podman runc catatonit netavark iptables python3-pyyaml nodejs npm
"

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (it installs packages)" >&2
	exit 1
fi

if command -v apt-get >/dev/null 2>&1; then
	missing=""
	for p in $DEBIAN_PACKAGES; do
		# A Node.js from elsewhere (NodeSource's nodejs carries its own npm and conflicts with
		# Debian's npm package) is kept: the manifests' check needs only the node and npm commands.
		case "$p" in
		nodejs) command -v node >/dev/null 2>&1 && continue ;;
		npm) command -v npm >/dev/null 2>&1 && continue ;;
		esac
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		echo "install-deps: apt-get install$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q
		# shellcheck disable=SC2086
		apt-get install -y -q --no-install-recommends $missing
	fi
elif command -v dnf >/dev/null 2>&1; then
	# CentOS Stream needs EPEL and CRB for protobuf-c, busybox and android-tools.
	if [ -f /etc/centos-release ]; then
		dnf install -y -q epel-release || true
		dnf config-manager --set-enabled crb 2>/dev/null || true
	fi
	# The kernel sources for the reference guest come from the distribution's own package.
	# shellcheck disable=SC2086
	dnf install -y -q $RPM_PACKAGES
else
	echo "install-deps: neither apt-get nor dnf found; install the packages listed in $0 by hand" >&2
	exit 1
fi
echo "install-deps: done"
