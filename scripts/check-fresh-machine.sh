#!/bin/bash
# Runs the README's first command (scripts/run-device.sh) the way a new user would on a fresh
# Debian 12 machine: in a minimal Debian 12 root (mmdebstrap --variant=minbase bookworm) that
# holds nothing but a clean copy of this tree, with a clean environment, no cache and no tool
# of this machine. The guest kernel is built from scratch inside, so a run takes long (about
# half an hour on a 2-core machine): run it by hand after any change to scripts/install-deps.sh
# or to the guest build (guest/build-guest.sh, guest/kernel.config, guest/local.mk), not in CI.
#
# Usage: scripts/check-fresh-machine.sh [--root DIR] [--keep] [--lock FILE] [--leave-running]
#                                       [--command CMD]
#
#   --root DIR       where the minimal root is made (default: a new /var/tmp/sepia-fresh.XXXXXX).
#                    It must not exist yet, or be empty.
#   --keep           keep the root after a passing run too (a failing run always keeps it).
#   --lock FILE      hold FILE with flock(1) while a device can run, e.g. the lock that the
#                    machine's guest-booting tests share: the device inside takes adb port 6520
#                    of this machine's network. It is taken once the guest's kernel is built
#                    (its init, adbd, images and the launch follow): the command,
#                    in a cgroup freezer of its own, is frozen until the lock is free, and the
#                    lock is let go once the device is stopped. The half hour of building before
#                    needs no lock. Without a cgroup freezer it is held for the whole command.
#   --leave-running  do not stop the device afterwards (implies --keep; the root stays mounted).
#   --command CMD    run CMD (a shell command, from the tree's top) instead of
#                    scripts/run-device.sh.
#
# Needs root, /dev/kvm for the boot, and the network to the Debian mirror that this machine's
# apt uses (read from /etc/apt/sources.list and /etc/apt/sources.list.d/). Installs mmdebstrap
# on this machine if it is missing. Prints the time taken and exits with the command's status.
set -euo pipefail
# The whole script is one block, read before it runs: a run takes half an hour, and bash reads a
# script as it goes, so an edit of this file meanwhile would otherwise change the running copy.
{
prog=check-fresh-machine
say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

root=
keep=no
lock=
leave_running=no
command=scripts/run-device.sh
while [ $# -gt 0 ]; do
	case $1 in
	--root) [ $# -ge 2 ] || die "--root needs a directory"; root=$2; shift 2 ;;
	--root=*) root=${1#--root=}; shift ;;
	--keep) keep=yes; shift ;;
	--lock) [ $# -ge 2 ] || die "--lock needs a file"; lock=$2; shift 2 ;;
	--lock=*) lock=${1#--lock=}; shift ;;
	--leave-running) leave_running=yes; keep=yes; shift ;;
	--command) [ $# -ge 2 ] || die "--command needs a command"; command=$2; shift 2 ;;
	--command=*) command=${1#--command=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

[ "$(id -u)" -eq 0 ] || die "run as root (it makes a root file system, mounts and chroots)"
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if ! command -v git >/dev/null 2>&1 || ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	die "$top is not a git checkout (the copy is made from git's list of files)"
fi
[ -c /dev/kvm ] || say "warning: no /dev/kvm on this machine: the device inside cannot boot"

if ! command -v mmdebstrap >/dev/null 2>&1; then
	command -v apt-get >/dev/null 2>&1 || die "mmdebstrap is missing and there is no apt-get to install it"
	say "installing mmdebstrap on this machine"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends mmdebstrap >&2 ||
		{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends mmdebstrap >&2; } ||
		die "cannot install mmdebstrap (apt-get install mmdebstrap)"
fi

# ---- The mirror: the bookworm entries of this machine's apt sources ------------------------

# shellcheck source=scripts/bookworm-mirror.sh
. "$top/scripts/bookworm-mirror.sh"
bookworm_mirror_args ||
	die "no bookworm entry in /etc/apt/sources.list{,.d/}: this machine's Debian 12 mirror is unknown"
sources=("${bookworm_sources[@]}")
mmdebstrap_opts=(--variant=minbase --mode=root "${bookworm_mmdebstrap_opts[@]}")

# ---- The root, its mounts, and the cleanup ----------------------------------------------

if [ -z "$root" ]; then
	root=$(mktemp -d /var/tmp/sepia-fresh.XXXXXX)
else
	mkdir -p "$root"
	[ -z "$(ls -A "$root")" ] || die "$root is not empty (give a new directory with --root)"
	root=$(cd "$root" && pwd)
fi
status=1
mounted=()
# The processes whose root is the new root: those the command started.
# shellcheck disable=SC2317 # called by cleanup
pids_in_root() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
	done
}
# --lock: the command runs in a freezer cgroup of its own. A watcher (in the background) waits
# until the reference guest build has built its kernel (the initramfs log appears: init, adbd,
# the Android images and the launch follow) or delivered its result, freezes the whole command
# at once if the lock is taken, takes it, thaws the command, and holds the lock until the cleanup ends the watcher.
# Without a cgroup freezer the lock is held for the whole command instead.
locker=
freezer=
freezer_state=
make_freezer() {
	local base
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		base=/sys/fs/cgroup # cgroup v2: cgroup.freeze in every non-root group
		mkdir "$base/sepia-fresh-$$" 2>/dev/null && [ -f "$base/sepia-fresh-$$/cgroup.freeze" ] &&
			{ freezer=$base/sepia-fresh-$$; freezer_state=cgroup.freeze; return 0; }
	elif [ -d /sys/fs/cgroup/freezer ]; then
		base=/sys/fs/cgroup/freezer # cgroup v1
		mkdir "$base/sepia-fresh-$$" 2>/dev/null && [ -f "$base/sepia-fresh-$$/freezer.state" ] &&
			{ freezer=$base/sepia-fresh-$$; freezer_state=freezer.state; return 0; }
	fi
	rmdir "$base/sepia-fresh-$$" 2>/dev/null
	return 1
}
freeze() { # freeze 1|0
	if [ "$freezer_state" = cgroup.freeze ]; then
		echo "$1" >"$freezer/cgroup.freeze"
	else
		if [ "$1" = 1 ]; then echo FROZEN; else echo THAWED; fi >"$freezer/freezer.state"
	fi
}
lock_when_launching() {
	set +e
	exec 8>>"$lock" || { say "cannot open the lock $lock"; return 1; }
	# Waits run in the background (cmd & wait) so that TERM ends the watcher at once; a flock
	# there locks the same open file, so the lock is this watcher's all the same.
	trap 'kill $! 2>/dev/null; exit 0' TERM
	# Not behind a loaded machine's other work: a late look let the launch through first.
	renice -n 0 -p "$BASHPID" >/dev/null 2>&1
	# The guest's init and adbd are being built (their log exists: a minute or so before the
	# launch), or the guest was delivered at once.
	while [ ! -e "$root/root/sepia/guest/out/build-info.txt" ] &&
		! ls "$root"/var/cache/sepia/guest/logs/initramfs-*.log >/dev/null 2>&1; do
		sleep 0.2 8>&- & wait $!
	done
	if ! flock -n 8; then
		freeze 1
		say "the guest is built and a device is about to launch: the command waits for the lock $lock"
		flock 8 & wait $!
		freeze 0
	fi
	say "holding the lock $lock until the device is stopped"
	while :; do sleep 5 8>&- & wait $!; done
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local rc=$? m i pid
	trap - EXIT INT TERM HUP
	[ "$leave_running" = yes ] && [ "$status" -eq 0 ] && {
		say "the device runs inside $root (mounts kept): stop it with" \
			"chroot $root sh -c 'cd /root/sepia && ./stop_cvd', then umount -R $root/{dev,proc,sys}"
		[ -z "$locker" ] || say "process $locker holds the lock $lock until you end it (kill $locker)"
		return
	}
	# A frozen command can neither stop nor die: thaw it first.
	[ -z "$freezer" ] || freeze 0 2>/dev/null || true
	# Whatever still runs inside the root was started by this script (the device's monitor,
	# its VMM, an adb server): ask the device to stop, then end what remains, by pid.
	if [ ${#mounted[@]} -gt 0 ] && [ -x "$root/root/sepia/stop_cvd" ]; then
		chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			sh -c 'cd /root/sepia && ./cvd_status >/dev/null 2>&1 && ./stop_cvd' >&2 || true
	fi
	for i in 1 2; do
		for pid in $(pids_in_root); do
			say "ending process $pid left in the root: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-80)"
			kill "$([ "$i" = 1 ] && echo -TERM || echo -KILL)" "$pid" 2>/dev/null || true
		done
		sleep 1
	done
	if [ -n "$locker" ]; then
		kill -TERM "$locker" 2>/dev/null || true
		wait "$locker" 2>/dev/null || true
	fi
	[ -z "$freezer" ] || rmdir "$freezer" 2>/dev/null || say "could not remove the cgroup $freezer"
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount -R "$m" 2>/dev/null || umount -R -l "$m" || say "could not unmount $m"
	done
	if [ "$status" -eq 0 ] && [ "$keep" = no ]; then
		rm -rf --one-file-system "$root"
	else
		say "the root is kept for inspection: $root (chroot $root bash; the tree is /root/sepia)"
	fi
	[ "$rc" -ne 0 ] || rc=$status
	exit "$rc"
}
trap cleanup EXIT
# The long steps run as a child this shell waits for, so that a signal ends the run at once (bash
# runs a trap only after a foreground child ends): the child is told first, and the cleanup ends
# whatever still runs inside the root.
child=
# shellcheck disable=SC2317 # called by the traps
on_signal() {
	[ -z "$child" ] || kill -TERM "$child" 2>/dev/null || true
	exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP
run_child() {
	local rc=0
	"$@" &
	child=$!
	wait "$child" || rc=$?
	child=
	return "$rc"
}

start=$(date +%s)
say "making a minimal Debian 12 root in $root from ${sources[0]%% bookworm*}"
run_child mmdebstrap "${mmdebstrap_opts[@]}" bookworm "$root" "${sources[@]}" >&2 ||
	{ status=1; die "mmdebstrap failed (see above)"; }
made=$(date +%s)
say "root made in $((made - start)) s"

# A clean copy of the tree: git's files (HEAD plus the working changes, untracked files that are
# not ignored included), no build product, no cache.
mkdir -p "$root/root/sepia"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] || [ -L "$f" ] && printf '%s\0' "$f"; done |
	tar --null -T - -cf -) | tar -xf - -C "$root/root/sepia" ||
	die "copying the tree into $root/root/sepia failed"
say "copied $(find "$root/root/sepia" -type f | wc -l) files of $top into $root/root/sepia"
# Name resolution for apt inside, as on any machine on this network.
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

for m in dev proc sys; do
	mkdir -p "$root/$m"
	mount --rbind "/$m" "$root/$m"
	mounted+=("$root/$m")
	mount --make-rslave "$root/$m"
done
# No cache of this machine inside: the guest cache path is the root's own, and empty.
[ ! -e "$root/var/cache/sepia" ] || die "$root/var/cache/sepia exists in a fresh root"

say "running '$command' in $root/root/sepia (env -i, HOME=/root)"
run=(chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	HOME=/root LANG=C.UTF-8 TERM=dumb /bin/sh -c "cd /root/sepia && $command")
if [ -n "$lock" ]; then
	if make_freezer; then
		# The command joins the cgroup before it starts, so that all it starts is in it too.
		# shellcheck disable=SC2016 # expanded by that sh
		run=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$freezer" "${run[@]}")
		lock_when_launching &
		locker=$!
	else
		say "no cgroup freezer here: holding the lock $lock for the whole command"
		run=(flock "$lock" "${run[@]}")
	fi
fi
cmd_start=$(date +%s)
set +e
run_child "${run[@]}"
status=$?
set -e
end=$(date +%s)
say "'$command' exited $status after $((end - cmd_start)) s; total with the root $((end - start)) s" \
	"($(((end - start) / 60)) min $(((end - start) % 60)) s)"
exit "$status"
}
