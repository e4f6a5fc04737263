#!/bin/sh
# The first set-up command of the README: installs what is missing, builds sepia and the
# reference guest, and boots the guest with sepia-vmm, its serial console on this
# terminal. `poweroff` in the guest's shell ends it.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f configure ] || autoreconf -fi
[ -f Makefile ] || ./configure
make -j"$(nproc)"
make guest
echo "run-device: booting the reference guest (2 vCPUs, 512 MiB); type 'poweroff' to stop it"
exec ./sepia-vmm --kernel guest/out/vmlinux --initrd guest/out/initramfs.cpio \
	--cmdline "console=ttyS0 sepia.shell=1" --mem 512 --cpus 2 --serial stdio
