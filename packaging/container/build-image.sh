#!/bin/bash
# Builds sepia's container image offline from the project's own .deb, and writes it as an OCI
# archive (`make container` runs it):
#   1. a minimal Debian 12 root (mmdebstrap --variant=minbase bookworm, from the mirror this
#      machine's apt uses) with the .deb installed by apt, as a tarball;
#   2. that tarball imported as the base image (podman/docker import): nothing is pulled from an
#      image registry, so it works where none is reachable, and the same where one is;
#   3. packaging/container/Containerfile on top: the reference guest's Android images in a
#      second layer, the entrypoint and the probe in a third;
#   4. the image saved as an archive: `podman save --format oci-archive` (docker: `docker save`,
#      whose archive holds an OCI image layout from Docker 25 on).
#
# Usage: build-image.sh --deb FILE --images DIR --output FILE [--tag NAME] [--engine podman|docker]
#   --deb FILE      sepia_<version>_amd64.deb (make deb)
#   --images DIR    the reference guest's Android images (make guest-android: guest/out/android)
#   --output FILE   the OCI archive to write
#   --tag NAME      the image's name (default localhost/sepia:latest); the base is NAME-base
#   --engine E      podman or docker (default: podman when installed, else docker)
# Needs root (mmdebstrap --mode=root) and the network to the Debian mirror. Exits 1 saying why.
set -euo pipefail
prog=build-image
say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 1; }
usage() { sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
deb='' images='' output='' tag=localhost/sepia:latest engine=''
while [ $# -gt 0 ]; do
	case $1 in
	--deb=*) deb=${1#*=}; shift ;;
	--images=*) images=${1#*=}; shift ;;
	--output=*) output=${1#*=}; shift ;;
	--tag=*) tag=${1#*=}; shift ;;
	--engine=*) engine=${1#*=}; shift ;;
	--deb | --images | --output | --tag | --engine)
		[ $# -ge 2 ] || die "$1 needs a value"
		declare "${1#--}=$2"; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
[ -n "$deb" ] && [ -n "$images" ] && [ -n "$output" ] || die "--deb, --images and --output are required (see --help)"
[ -f "$deb" ] || die "$deb: no such package (make deb builds it)"
[ -f "$images/boot.img" ] || die "$images: no boot.img (make guest guest-android builds the reference guest's images)"
[ "$(id -u)" -eq 0 ] || die "run as root (mmdebstrap makes the root as root)"
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing (apt-get install mmdebstrap)"
if [ -z "$engine" ]; then
	if command -v podman >/dev/null 2>&1; then engine=podman
	elif command -v docker >/dev/null 2>&1; then engine=docker
	else die "neither podman nor docker is installed (apt-get install podman)"; fi
fi
command -v "$engine" >/dev/null 2>&1 || die "--engine=$engine: not installed"
deb=$(realpath "$deb")
images=$(realpath "$images")
output=$(realpath -m "$output")
base=$tag-base
[[ $tag == *:* ]] && base=${tag%:*}-base:${tag##*:}

# shellcheck source=scripts/bookworm-mirror.sh
. "$top/scripts/bookworm-mirror.sh"
bookworm_mirror_args || die "no bookworm entry in /etc/apt/sources.list{,.d/}: this machine's Debian 12 mirror is unknown"

work=$(mktemp -d /var/tmp/sepia-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
t0=$(date +%s)

# 1. The root: minbase, then the .deb installed by apt inside it (which fetches its dependencies
#    from the same mirror). Documentation, manual pages and locales are left out, and apt's lists
#    removed: the image runs devices, nobody reads or installs there.
say "making the Debian 12 root with $(basename "$deb") (mmdebstrap)"
mmdebstrap --variant=minbase --mode=root "${bookworm_mmdebstrap_opts[@]}" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--include=hostname \
	--customize-hook="copy-in $deb /tmp" \
	--customize-hook='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/'"$(basename "$deb")" \
	--customize-hook='rm -rf "$1"/tmp/*.deb "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
	bookworm "$work/root.tar" "${bookworm_sources[@]}" >&2 || die "mmdebstrap failed (see above)"

# 2. The base image, from the tarball.
say "importing the root as $base ($engine import)"
"$engine" import "$work/root.tar" "$base" >/dev/null || die "$engine import failed"
rm -f "$work/root.tar"

# 3. The reference guest and the entrypoint on top. --pull=never: the base is local.
mkdir "$work/ctx"
cp -RL "$images" "$work/ctx/reference"
cp "$here/entrypoint.sh" "$here/probe.sh" "$work/ctx/"
pull=(--pull=never)
[ "$engine" = docker ] && pull=()
say "building $tag ($engine build)"
"$engine" build "${pull[@]}" --build-arg "BASE=$base" -f "$here/Containerfile" -t "$tag" "$work/ctx" >&2 ||
	die "$engine build failed (see above)"

# 4. The archive.
rm -f "$output"
if [ "$engine" = podman ]; then
	podman save --format oci-archive -o "$output" "$tag" || die "podman save failed"
else
	docker save -o "$output" "$tag" || die "docker save failed"
fi
size=$("$engine" image inspect --format '{{.Size}}' "$tag")
say "$tag: $((size / 1048576)) MiB image, archive $output $(($(stat -c %s "$output") / 1048576)) MiB, built in $(($(date +%s) - t0)) s"
