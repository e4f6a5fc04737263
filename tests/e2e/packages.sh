#!/bin/bash
# Builds the Debian and RPM packages from the `make dist` tarball (make deb, make rpm) and checks what
# they carry: every program in bin_PROGRAMS, the service, settings, udev rules, modules-load,
# NetworkManager and limits files; the maintainer scripts (group cvdnetwork, systemd); dependencies.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir
skip() { echo "1..0 # SKIP $1"; exit 77; }
have_deb=1; have_rpm=1
for t in dpkg-buildpackage dpkg-deb dh; do command -v $t >/dev/null 2>&1 || have_deb=0; done
for t in rpmbuild rpm; do command -v $t >/dev/null 2>&1 || have_rpm=0; done
[ $have_deb = 1 ] || [ $have_rpm = 1 ] || skip "neither dpkg-buildpackage+debhelper nor rpmbuild installed (scripts/install-deps.sh)"
[ -f "$B/Makefile" ] || skip "no configured build in $B"

work=$(mktemp -d /tmp/sepia-packages.XXXXXX)
trap 'rm -rf "$work"' EXIT
n=0
check() { n=$((n + 1)); if eval "$1"; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi; }
skipcheck() { n=$((n + 1)); echo "ok $n # SKIP $1"; }
note() { sed 's/^/# /' "$@"; }
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$B/Makefile")
programs=$(MAKEFLAGS= make -s --no-print-directory -C "$B" print-bin-programs)
files_etc="/etc/default/sepia-host-resources /etc/modules-load.d/sepia.conf
	/etc/NetworkManager/conf.d/sepia-unmanaged.conf /etc/security/limits.d/sepia.conf"

contains_all() { # listing-file path...
	local f=$1 missing=; shift
	for p in "$@"; do grep -qx -- "$p" "$f" || missing="$missing $p"; done
	[ -z "$missing" ] || echo "# missing:$missing"
	[ -z "$missing" ]
}

# ---- Debian
if [ $have_deb = 1 ]; then
	s=$(date +%s)
	make -C "$B" deb PKG_DIR="$work" > "$work/deb.out" 2>&1; rc=$?
	echo "# make deb: status $rc after $(( $(date +%s) - s )) s"
	[ $rc = 0 ] || tail -20 "$work/deb.out" | note
	# This run's package, in its own PKG_DIR: the copy in $B may be one an earlier run left.
	deb=$work/deb/sepia_${version}_amd64.deb
	check "[ $rc = 0 ] && [ -f '$deb' ] && cmp -s '$deb' '$B/sepia_${version}_amd64.deb'" \
		"make deb builds sepia_${version}_amd64.deb (and copies it to the build directory)"
	dpkg-deb -c "$deb" 2>/dev/null | awk '{print $6}' | sed 's|^\.||' > "$work/deb.list"
	bins=$(for p in $programs; do echo /usr/bin/$p; done)
	check "contains_all '$work/deb.list' $(echo $bins)" "the deb carries every program: $(echo $programs)"
	check "contains_all '$work/deb.list' /lib/systemd/system/sepia-host-resources.service /lib/udev/rules.d/60-sepia.rules $(echo $files_etc)" \
		"the deb carries the service, udev rules, settings, modules-load, NetworkManager and limits files"
	dpkg-deb -I "$deb" postinst > "$work/postinst" 2>&1
	check "grep -q 'groupadd --system cvdnetwork' '$work/postinst' && grep -q 'sepia-host-resources.service' '$work/postinst'" \
		"postinst creates group cvdnetwork and enables the service (dh_installsystemd)"
	check "[ \$(grep -c -E 'useradd|usermod|gpasswd|adduser' '$work/postinst') = 0 ]" "postinst adds no users"
	dpkg-deb -I "$deb" postrm > "$work/postrm" 2>&1
	check "grep -q 'rm -rf /run/sepia' '$work/postrm'" "postrm clears /run/sepia on purge"
	dpkg-deb -I "$deb" conffiles > "$work/conffiles" 2>&1
	check "contains_all '$work/conffiles' $(echo $files_etc)" "the /etc files are conffiles"
	deps=$(dpkg-deb -f "$deb" Depends)
	echo "# Depends: $deps"
	check "echo '$deps' | grep -q dnsmasq-base && echo '$deps' | grep -q nftables && echo '$deps' | grep -q libnl-route-3" \
		"the deb depends on dnsmasq-base, nftables and its libraries"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/sepia-host-resources.service > "$work/unit" 2>/dev/null
	check "grep -qx 'ExecStart=/usr/bin/sepia-host-resources start' '$work/unit' && grep -qx 'EnvironmentFile=-/etc/default/sepia-host-resources' '$work/unit'" \
		"the packaged unit runs /usr/bin/sepia-host-resources with /etc/default/sepia-host-resources"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/udev/rules.d/60-sepia.rules > "$work/rules" 2>/dev/null
	check "grep -q 'KERNEL==\"kvm\", GROUP=\"kvm\"' '$work/rules' && grep -q 'KERNEL==\"vhost-net\", GROUP=\"cvdnetwork\"' '$work/rules' && grep -q 'KERNEL==\"vhost-vsock\", GROUP=\"cvdnetwork\"' '$work/rules'" \
		"udev rules: /dev/kvm for kvm, /dev/vhost-net and /dev/vhost-vsock for cvdnetwork"
	check "! grep -q '/share/sepia/reference' '$work/deb.list'" "the host deb carries no guest images (they are in sepia-guest)"
	# sepia-guest: the reference guest's images this build made, where launch_cvd looks.
	if [ -r "$B/guest/out/android/boot.img" ]; then
		make -C "$B" deb-guest PKG_DIR="$work" > "$work/deb-guest.out" 2>&1; rc=$?
		[ $rc = 0 ] || tail -20 "$work/deb-guest.out" | note
		gdeb=$work/deb-guest/sepia-guest_${version}_all.deb
		check "[ $rc = 0 ] && [ -f '$gdeb' ] && [ \"\$(dpkg-deb -f '$gdeb' Package Architecture | tr '\n' ' ')\" = 'Package: sepia-guest Architecture: all ' ]" \
			"make deb-guest builds sepia-guest_${version}_all.deb"
		dpkg-deb -c "$gdeb" 2>/dev/null | awk '{print $6}' | sed 's|^\.||' > "$work/deb-guest.list"
		check "contains_all '$work/deb-guest.list' /usr/share/sepia/reference/boot.img /usr/share/sepia/reference/vendor_boot.img /usr/share/sepia/reference/system.img /usr/share/sepia/reference/vbmeta.img" \
			"sepia-guest carries the four images in /usr/share/sepia/reference"
		dpkg-deb --fsys-tarfile "$gdeb" | tar -xO ./usr/share/sepia/reference/boot.img > "$work/guest-boot.img" 2>/dev/null
		check "cmp -s '$work/guest-boot.img' '$B/guest/out/android/boot.img'" "its boot.img is the one this tree built"
	else
		for i in 1 2 3; do skipcheck "no reference guest images in $B/guest/out/android (make guest guest-android)"; done
	fi
else
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do skipcheck "dpkg-buildpackage or debhelper not installed"; done
fi

# ---- RPM
if [ $have_rpm = 1 ]; then
	s=$(date +%s)
	make -C "$B" rpm PKG_DIR="$work" > "$work/rpm.out" 2>&1; rc=$?
	echo "# make rpm: status $rc after $(( $(date +%s) - s )) s"
	[ $rc = 0 ] || tail -20 "$work/rpm.out" | note
	rpmf=$work/rpm/RPMS/x86_64/sepia-${version}-1.x86_64.rpm
	check "[ $rc = 0 ] && [ -f '$rpmf' ] && cmp -s '$rpmf' '$B/sepia-${version}-1.x86_64.rpm'" \
		"make rpm builds sepia-${version}-1.x86_64.rpm (and copies it to the build directory)"
	rpm -qlp "$rpmf" > "$work/rpm.list" 2>/dev/null
	unitdir=$(grep -m1 '/systemd/system/sepia-host-resources.service$' "$work/rpm.list" | sed 's|/sepia-host-resources.service$||')
	rulesdir=$(grep -m1 '/udev/rules.d/60-sepia.rules$' "$work/rpm.list" | sed 's|/60-sepia.rules$||')
	check "contains_all '$work/rpm.list' $(echo $bins)" "the rpm carries every program"
	check "[ -n '$unitdir' ] && [ -n '$rulesdir' ] && contains_all '$work/rpm.list' $(echo $files_etc)" \
		"the rpm carries the service ($unitdir), udev rules ($rulesdir), settings, modules-load, NetworkManager and limits files"
	rpm -qp --scripts "$rpmf" > "$work/scripts" 2>/dev/null
	check "grep -q 'groupadd -r cvdnetwork' '$work/scripts' && grep -q 'sepia-host-resources.service' '$work/scripts'" \
		"rpm scriptlets create group cvdnetwork and handle the service"
	rpm -qpc "$rpmf" > "$work/rpmconf" 2>/dev/null
	check "contains_all '$work/rpmconf' $(echo $files_etc)" "the /etc files are %config"
	rpm -qpR "$rpmf" > "$work/requires" 2>/dev/null
	check "grep -qx dnsmasq '$work/requires' && grep -qx nftables '$work/requires'" "the rpm requires dnsmasq and nftables"
else
	for i in 1 2 3 4 5; do skipcheck "rpmbuild not installed"; done
fi
echo "1..$n"
