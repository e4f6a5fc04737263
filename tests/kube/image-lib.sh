# shellcheck shell=bash
# Sourced by the tests of the container image: kube_image_of_this_tree sets $image to the image
# the StatefulSet names, loaded from this build tree's own OCI archive (`make container`), so a
# test never uses an image that another tree or an earlier run left in podman's storage. Skips
# (exit 77, saying why) without python3's yaml or the archive. Needs $top_srcdir, $B and skip().
kube_image_of_this_tree() {
	python3 -c 'import yaml' 2>/dev/null || skip "python3 with yaml is needed (python3-yaml)"
	image=$(python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "StatefulSet": print(d["spec"]["template"]["spec"]["containers"][0]["image"])' \
		"$top_srcdir/packaging/kubernetes/statefulset.yaml")
	local archive
	archive=$(ls "$B"/sepia-container-*.oci.tar 2>/dev/null | head -1)
	[ -n "$archive" ] || skip "no OCI archive of $image in $B (make container builds it from this tree)"
	podman load -q -i "$archive" >/dev/null 2>&1 || skip "podman load $archive failed"
	podman image exists "$image" || skip "$archive does not hold $image (make container again)"
}
