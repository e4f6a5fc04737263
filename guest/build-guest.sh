#!/bin/bash
# Builds sepia's reference guest from Debian's packages:
#   vmlinux         a small x86-64 Linux 6.1 (linux-source-6.1), PVH entry, uncompressed
#   bzImage         the same kernel in the Linux boot-protocol format
#   initramfs.cpio  uncompressed newc cpio: busybox-static + sepia's init (guest/init/)
#                   + sepia's adbd (guest/adbd/, at /sbin/adbd)
#   build-info.txt  what went in, and sizes
#
# Usage: guest/build-guest.sh [--out DIR] [--jobs N] [--rebuild] [--print-key]
#                              [--extra-config FRAGMENT]
#
#   --extra-config FRAGMENT  a second config fragment merged after guest/kernel.config,
#                            for variants such as guest/kernel-profile.config (initcall
#                            timings); it gets its own object tree and cache entries.
#
# Results are cached under ${SEPIA_GUEST_CACHE:-/var/cache/sepia/guest}/<key>/, the key
# being a hash of every input (the kernel config fragment, init sources, this script,
# the linux-source-6.1 and busybox-static package versions, the compiler), so a second
# run with the same inputs only copies files. The kernel's object tree is kept in the
# cache too, so a changed config fragment rebuilds incrementally.
set -euo pipefail

prog=build-guest
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SEPIA_GUEST_CACHE:-/var/cache/sepia/guest}
out=
jobs=$(nproc 2>/dev/null || echo 2)
rebuild=no
print_key=no
extra_config=

say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }

usage() {
	sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--jobs|-j) [ $# -ge 2 ] || die "--jobs needs a number"; jobs=$2; shift 2 ;;
	--jobs=*) jobs=${1#--jobs=}; shift ;;
	--extra-config) [ $# -ge 2 ] || die "--extra-config needs a file"; extra_config=$2; shift 2 ;;
	--extra-config=*) extra_config=${1#--extra-config=}; shift ;;
	--rebuild) rebuild=yes; shift ;;
	--print-key) print_key=yes; shift ;;
	-h|--help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

kernel_fragment=$here/kernel.config
init_dir=$here/init
adbd_dir=$here/adbd
tools_dir=$here/tools   # one program per .c file, in /bin, all linked into one static binary
patch_dir=$here/patches
rootfs_dir=$here/rootfs
linux_tarball=/usr/src/linux-source-6.1.tar.xz
busybox_bin=/bin/busybox

# ---- What we need from the system -------------------------------------------------

pkg_version() {
	dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null | awk '$1 == "installed" { print $2 }'
}

linux_version=$(pkg_version linux-source-6.1)
busybox_version=$(pkg_version busybox-static)
missing=
[ -n "$linux_version" ] && [ -f "$linux_tarball" ] || missing="$missing linux-source-6.1"
[ -n "$busybox_version" ] && [ -x "$busybox_bin" ] || missing="$missing busybox-static"
# Every tool the build calls that a minimal Debian 12 may lack (rsync: the kernel's headers_install).
for tool in make gcc ld strip readelf bc flex bison perl cpio sha256sum xz lz4 rsync patch flock tar; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -f /usr/include/libelf.h ] || missing="$missing libelf-dev"
if [ -n "$missing" ]; then
	die "missing:$missing (scripts/install-deps.sh installs them all; by hand: apt-get install linux-source-6.1 busybox-static build-essential bc flex bison libelf-dev cpio xz-utils lz4 rsync patch)"
fi
[ -f "$kernel_fragment" ] || die "kernel config fragment $kernel_fragment not found"
fragments=("$kernel_fragment")
variant=
if [ -n "$extra_config" ]; then
	[ -f "$extra_config" ] || die "extra config fragment $extra_config not found"
	extra_config=$(cd "$(dirname "$extra_config")" && pwd)/$(basename "$extra_config")
	fragments+=("$extra_config")
	variant=-$(basename "$extra_config" .config)
fi
ls "$init_dir"/*.c >/dev/null 2>&1 || die "init sources not found in $init_dir"
ls "$adbd_dir"/*.c >/dev/null 2>&1 || die "adbd sources not found in $adbd_dir"
gcc_version=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)

# ---- Cache keys ---------------------------------------------------------------------

hash_of() { sha256sum | cut -c1-16; }

# sepia's kernel patches (guest/patches, applied in name order) make a source tree of
# their own.
patches=("$patch_dir"/*.patch)
[ -e "${patches[0]}" ] || patches=()
patch_key=$(cat /dev/null "${patches[@]}" | hash_of)
kernel_key=$( {
	echo "linux-source-6.1 $linux_version"
	echo "gcc $gcc_version"
	echo "patches $patch_key"
	cat "${fragments[@]}"
	sed -n '/^# >>> kernel recipe/,/^# <<< kernel recipe/p' "${BASH_SOURCE[0]}"
} | hash_of)
initramfs_key=$( {
	echo "busybox-static $busybox_version"
	echo "gcc $gcc_version"
	echo "linux-source-6.1 $linux_version patches $patch_key" # gen_init_cpio, UAPI headers
	for f in "$init_dir"/*.c "$init_dir"/*.h; do echo "== ${f##*/}"; cat "$f"; done
	for f in "$adbd_dir"/*.c "$adbd_dir"/*.h; do echo "== adbd/${f##*/}"; cat "$f"; done
	echo "== common/byteorder.h"; cat "$here/../common/byteorder.h" # adbd includes it
	for f in "$tools_dir"/*.c "$tools_dir"/*.h; do echo "== tools/${f##*/}"; cat "$f"; done
	(cd "$rootfs_dir" && find . -type f | sort | while read -r f; do
		echo "== rootfs/$f $(stat -c %a "$f")"; cat "$f"; done)
	sed -n '/^# >>> initramfs recipe/,/^# <<< initramfs recipe/p' "${BASH_SOURCE[0]}"
} | hash_of)
key=$(echo "$kernel_key $initramfs_key $(cat "${BASH_SOURCE[0]}")" | hash_of)

if [ "$print_key" = yes ]; then
	echo "$key"
	exit 0
fi

result=$cache/$key
mkdir -p "$cache" || die "cannot create cache directory $cache (set SEPIA_GUEST_CACHE)"

deliver() {
	[ -n "$out" ] || { say "guest in $result"; return 0; }
	mkdir -p "$out" || die "cannot create output directory $out"
	for f in vmlinux bzImage initramfs.cpio build-info.txt kernel.config.full; do
		[ -f "$result/$f" ] || continue
		# Copies, not links: the cache must not change if someone edits DIR.
		cp -f "$result/$f" "$out/$f" || die "cannot copy $f to $out"
	done
	say "guest in $out (cache $result)"
}

if [ "$rebuild" = no ] && [ -f "$result/complete" ]; then
	say "inputs unchanged (key $key): using cache"
	deliver
	exit 0
fi

# One build at a time per cache: the kernel object tree is shared.
exec 9>"$cache/.lock"
if ! flock -n 9; then
	say "waiting for another guest build to finish ($cache/.lock)"
	flock 9
	if [ "$rebuild" = no ] && [ -f "$result/complete" ]; then
		say "the other build made it (key $key): using cache"
		deliver
		exit 0
	fi
fi

mkdir -p "$cache/logs"
work=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Runs a build step with its output in a log; on failure shows the log's end.
run_logged() {
	local what=$1 log=$2
	shift 2
	if ! "$@" >"$log" 2>&1; then
		echo "$prog: error: $what failed; last lines of $log:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

# ---- Linux source (extracted once per package version) --------------------------

src_parent=$cache/src/linux-$linux_version-$patch_key
src=$src_parent/linux-source-6.1
if [ ! -f "$src_parent/.complete" ]; then
	say "extracting $linux_tarball (linux-source-6.1 $linux_version)"
	rm -rf "$src_parent" "$src_parent.tmp"
	mkdir -p "$src_parent.tmp"
	tar -xJf "$linux_tarball" -C "$src_parent.tmp" || die "extracting $linux_tarball failed"
	[ -f "$src_parent.tmp/linux-source-6.1/Makefile" ] ||
		die "$linux_tarball has no linux-source-6.1/Makefile"
	for p in "${patches[@]}"; do
		say "applying ${p##*/}"
		patch -d "$src_parent.tmp/linux-source-6.1" -p1 --batch --forward --quiet <"$p" ||
			die "patch ${p##*/} does not apply to linux-source-6.1 $linux_version"
	done
	mv "$src_parent.tmp" "$src_parent"
	touch "$src_parent/.complete"
fi

# ---- Kernel UAPI headers (installed once per source tree) ------------------------
# The guest tools use the kernel's DRM interface (drm.h, drm_mode.h, virtgpu_drm.h),
# which Debian's linux-libc-dev does not ship: `make headers_install` from the same
# source the guest kernel is built from (its own object directory, ~10 s).
uapi_headers=$cache/headers/linux-$linux_version-$patch_key
if [ ! -f "$uapi_headers/.complete" ]; then
	say "installing the kernel's UAPI headers in $uapi_headers"
	rm -rf "$uapi_headers"
	mkdir -p "$cache/headers" "$cache/logs"
	run_logged "make headers_install" "$cache/logs/headers-$linux_version-$patch_key.log" \
		make -C "$src" O="$uapi_headers/obj" INSTALL_HDR_PATH="$uapi_headers" ARCH=x86_64 \
		headers_install
	[ -f "$uapi_headers/include/drm/virtgpu_drm.h" ] ||
		die "make headers_install left no $uapi_headers/include/drm/virtgpu_drm.h"
	rm -rf "$uapi_headers/obj"
	touch "$uapi_headers/.complete"
fi

# >>> kernel recipe (this block is part of the kernel's cache key)
# The fragments' option lines, the last word on each symbol winning (as in merge_config.sh).
merged_fragment_lines() {
	cat "${fragments[@]}" | awk '
		/^CONFIG_[A-Za-z0-9_]+=/ { sym = $0; sub(/=.*/, "", sym) }
		/^# CONFIG_[A-Za-z0-9_]+ is not set$/ { sym = $2 }
		/^CONFIG_[A-Za-z0-9_]+=/ || /^# CONFIG_[A-Za-z0-9_]+ is not set$/ {
			if (!(sym in line)) order[n++] = sym
			line[sym] = $0
		}
		END { for (i = 0; i < n; i++) print line[order[i]] }'
}
kernel_result=$cache/kernel-$kernel_key
obj=$cache/obj/linux-$linux_version-$patch_key$variant
build_kernel() {
	local log=$cache/logs/kernel-$kernel_key.log config=$obj/.config start end
	mkdir -p "$obj"
	say "configuring the kernel: allnoconfig + ${fragments[*]##*/} (log $log)"
	: >"$log"
	# -n: allnoconfig with the fragment as its base, so everything the fragment
	# does not name stays off. Its own report of unmet values goes to the log;
	# the check below is the one that decides.
	( cd "$src" && KCONFIG_CONFIG=$config ./scripts/kconfig/merge_config.sh -n -O "$obj" \
		"${fragments[@]}" ) >>"$log" 2>&1 || {
		tail -n 40 "$log" >&2; die "merging the kernel config fragment failed (log $log)"; }
	make -C "$src" O="$obj" olddefconfig >>"$log" 2>&1 || {
		tail -n 40 "$log" >&2; die "make olddefconfig failed (log $log)"; }

	# Every line of the fragment must hold in the final .config: a wanted
	# option exactly, an unwanted one neither =y nor =m.
	local line sym bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			grep -qxF -- "$line" "$config" || {
				sym=${line%%=*}
				echo "$prog: error: kernel option $line requested, got:" \
					"$(grep -E "^($sym=|# $sym is not set)" "$config" || echo 'absent (unmet dependency?)')" >&2
				bad=1; }
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			if grep -qE "^$sym=[ym]" "$config"; then
				echo "$prog: error: kernel option $sym should be off, got: $(grep -E "^$sym=" "$config") (selected by another option?)" >&2
				bad=1
			fi
			;;
		esac
	done < <(merged_fragment_lines)
	[ $bad = 0 ] || die "the kernel configuration does not match ${fragments[*]}"

	say "building the kernel with make -j$jobs (vmlinux, bzImage; log $log)"
	start=$(date +%s)
	make -C "$src" O="$obj" -j"$jobs" vmlinux bzImage >>"$log" 2>&1 &
	local make_pid=$! ticks=0 last
	# Progress: the last file make reported, every 30 s.
	while kill -0 "$make_pid" 2>/dev/null; do
		sleep 2
		ticks=$((ticks + 1))
		[ $((ticks % 15)) = 0 ] || continue
		last=$(grep -E '^ +[A-Z]+ ' "$log" | tail -n 1 | sed 's/^ *//')
		say "  ... $(($(date +%s) - start)) s: $last"
	done
	wait "$make_pid" || { tail -n 40 "$log" >&2; die "building the kernel failed (log $log)"; }
	end=$(date +%s)

	readelf -n "$obj/vmlinux" | grep -q 'Xen.*0x00000012' ||
		die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); is CONFIG_PVH set?"

	rm -rf "$kernel_result.tmp"
	mkdir -p "$kernel_result.tmp"
	cp "$obj/vmlinux" "$kernel_result.tmp/vmlinux"
	cp "$obj/arch/x86/boot/bzImage" "$kernel_result.tmp/bzImage"
	cp "$config" "$kernel_result.tmp/kernel.config.full"
	make -s -C "$src" O="$obj" kernelrelease >"$kernel_result.tmp/kernelrelease" 2>/dev/null || true
	echo $((end - start)) >"$kernel_result.tmp/build-seconds"
	rm -rf "$kernel_result"
	mv "$kernel_result.tmp" "$kernel_result"
	say "kernel built in $((end - start)) s"
}
# <<< kernel recipe

if [ "$rebuild" = yes ] || [ ! -f "$kernel_result/vmlinux" ]; then
	build_kernel
else
	say "kernel unchanged (key $kernel_key): using cache"
fi

# >>> initramfs recipe (this block is part of the initramfs's cache key)
initramfs_result=$cache/initramfs-$initramfs_key
build_initramfs() {
	local log=$cache/logs/initramfs-$initramfs_key.log list=$work/initramfs.list
	: >"$log"
	say "building the guest init (gcc -static -Os; log $log)"
	run_logged "compiling guest/init" "$log" \
		gcc -static -Os -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		-o "$work/init" "$init_dir"/*.c
	strip "$work/init"
	say "building the guest adbd (gcc -static -Os; log $log)"
	run_logged "compiling guest/adbd" "$log" \
		gcc -static -Os -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -I "$here/.." \
		-o "$work/adbd" "$adbd_dir"/*.c
	strip "$work/adbd"
	# The tools share one static binary, /bin/sepia-tools, called through a link per tool
	# (as busybox): each static glibc copy is ~700 KB, and every byte of the initramfs is
	# unpacked by interpreted kernel code on some hosts. Each tool's main() is renamed
	# tool_<name>_main; a generated dispatcher picks one by argv[0].
	local tool sym objs=() dispatch=$work/sepia-tools.c
	printf '#include <stdio.h>\n#include <string.h>\n' >"$dispatch"
	for tool in "$tools_dir"/*.c; do
		tool=${tool##*/}
		tool=${tool%.c}
		sym=tool_${tool//-/_}_main
		# -I: the guest kernel's own UAPI headers (<drm/...>), see above.
		run_logged "compiling guest/tools/$tool" "$log" \
			gcc -c -Os -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Dmain="$sym" \
			-I "$uapi_headers/include" -o "$work/$tool.o" "$tools_dir/$tool.c"
		objs+=("$work/$tool.o")
		printf 'int %s(int, char **);\n' "$sym" >>"$dispatch"
	done
	{
		printf 'int main(int argc, char **argv)\n{\n'
		printf '\tconst char *name = strrchr(argv[0], 0x2f) ? strrchr(argv[0], 0x2f) + 1 : argv[0];\n'
		for tool in "$tools_dir"/*.c; do
			tool=${tool##*/}
			tool=${tool%.c}
			printf '\tif (!strcmp(name, "%s"))\n\t\treturn tool_%s_main(argc, argv);\n' "$tool" "${tool//-/_}"
		done
		printf '\tfprintf(stderr, "sepia-tools: %%s is not one of its tools\\n", name);\n\treturn 127;\n}\n'
	} >>"$dispatch"
	run_logged "linking sepia-tools" "$log" \
		gcc -static -Os -Wall -Werror -o "$work/sepia-tools" "$dispatch" "${objs[@]}"
	strip "$work/sepia-tools"
	# gen_init_cpio from the kernel source: a deterministic newc archive with
	# device nodes and owners, without needing root.
	run_logged "compiling gen_init_cpio" "$log" \
		gcc -O2 -o "$work/gen_init_cpio" "$src/usr/gen_init_cpio.c"

	say "assembling the initramfs (busybox-static $busybox_version)"
	{
		local d
		for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /dev/pts /dev/shm /proc /sys /run /tmp \
			/root /mnt /var /var/log /data; do
			echo "dir $d 0755 0 0"
		done
		# The kernel opens /dev/console for init before devtmpfs exists.
		echo "nod /dev/console 0600 0 0 c 5 1"
		echo "nod /dev/null 0666 0 0 c 1 3"
		echo "file /init $work/init 0755 0 0"
		echo "file /sbin/adbd $work/adbd 0755 0 0"
		echo "file /bin/busybox $busybox_bin 0755 0 0"
		echo "file /bin/sepia-tools $work/sepia-tools 0755 0 0"
		for tool in "$tools_dir"/*.c; do
			tool=${tool##*/}
			echo "slink /bin/${tool%.c} sepia-tools 0777 0 0"
		done
		local applet
		"$busybox_bin" --list-full | sort | while read -r applet; do
			case ${applet##*/} in
			busybox|init|linuxrc) continue ;; # /init is sepia's
			esac
			echo "slink /$applet /bin/busybox 0777 0 0"
		done
		# guest/rootfs/: files copied as they are (/etc/passwd, /etc/profile, ...).
		local path rel mode
		(cd "$rootfs_dir" && find . -mindepth 1 -type d | sort) | while read -r rel; do
			echo "dir ${rel#.} 0755 0 0"
		done
		(cd "$rootfs_dir" && find . -type f | sort) | while read -r rel; do
			path=$rootfs_dir/${rel#./}
			mode=0644; [ -x "$path" ] && mode=0755
			echo "file ${rel#.} $path $mode 0 0"
		done
	} >"$list"
	rm -rf "$initramfs_result.tmp"
	mkdir -p "$initramfs_result.tmp"
	run_logged "writing the initramfs" "$log" \
		sh -c "'$work/gen_init_cpio' -t 0 '$list' >'$initramfs_result.tmp/initramfs.cpio'"
	cp "$list" "$initramfs_result.tmp/initramfs.list"
	rm -rf "$initramfs_result"
	mv "$initramfs_result.tmp" "$initramfs_result"
}
# <<< initramfs recipe

if [ "$rebuild" = yes ] || [ ! -f "$initramfs_result/initramfs.cpio" ]; then
	build_initramfs
else
	say "initramfs unchanged (key $initramfs_key): using cache"
fi

# ---- The result ---------------------------------------------------------------------

rm -rf "$result.tmp"
mkdir -p "$result.tmp"
ln "$kernel_result/vmlinux" "$kernel_result/bzImage" "$kernel_result/kernel.config.full" \
	"$initramfs_result/initramfs.cpio" "$result.tmp/" 2>/dev/null ||
	cp "$kernel_result/vmlinux" "$kernel_result/bzImage" "$kernel_result/kernel.config.full" \
		"$initramfs_result/initramfs.cpio" "$result.tmp/"
size_of() { stat -c %s "$1"; }
{
	echo "key: $key"
	echo "kernel-key: $kernel_key"
	echo "initramfs-key: $initramfs_key"
	echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "linux-source-6.1: $linux_version"
	echo "kernel-release: $(cat "$kernel_result/kernelrelease" 2>/dev/null)"
	echo "kernel-build-seconds: $(cat "$kernel_result/build-seconds" 2>/dev/null)"
	echo "busybox-static: $busybox_version"
	echo "gcc: $gcc_version"
	for f in vmlinux bzImage initramfs.cpio; do
		echo "$f: $(size_of "$result.tmp/$f") bytes sha256 $(sha256sum <"$result.tmp/$f" | cut -d' ' -f1)"
	done
	echo "boot: vmlinux is an ELF with a PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); initramfs is uncompressed newc"
	echo "cmdline options: sepia.shell=1|TTY sepia.run=CMD sepia.hostname=NAME sepia.debug=1 sepia.reboot=1 sepia.adbd=0 sepia.gpu_pattern=1"
} >"$result.tmp/build-info.txt"
touch "$result.tmp/complete"
rm -rf "$result"
mv "$result.tmp" "$result"
say "done: key $key"
deliver
