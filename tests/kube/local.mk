# sepia on Kubernetes (packaging/kubernetes/, packaging/container/, README "Many hosts").
# manifests.sh: the manifests against Kubernetes' OpenAPI schema (npm's kubernetes-models, which
# `make kube-validator` installs into the build tree) and the device's rules; fleet-status.sh:
# scripts/fleet-status.sh on pods made from the manifest; image.sh: the image of `make container`
# without a guest (its libraries, sepia-vmm --gpu=auto, the entrypoint without /dev/kvm);
# kube-play.sh: the manifest played by `podman kube play` with that image, a device booted in the
# pod and reached with adb (root, podman, /dev/kvm: it skips without them; boots a guest twice).
# kube-play.sh skips, saying so, when the build tree has no image (`make container` first; the
# README's test command does not build it, to keep CI's time).
KUBE_TESTS = tests/kube/manifests.sh tests/kube/fleet-status.sh tests/kube/image.sh tests/kube/kube-play.sh
TESTS += $(KUBE_TESTS)
EXTRA_DIST += $(KUBE_TESTS) tests/kube/image-lib.sh tests/kube/pod-from-statefulset.py tests/kube/validate.mjs \
	packaging/kubernetes/statefulset.yaml packaging/kubernetes/kustomization.yaml \
	packaging/kubernetes/device-services.sh packaging/kubernetes/kvm-hostpath/kustomization.yaml \
	packaging/kubernetes/kvm-hostpath/patch.yaml scripts/fleet-status.sh

# The schema checker, pinned: kubernetes-models 5.1.0 carries the OpenAPI schema of Kubernetes
# 1.34 (resource.k8s.io/v1 is there). From the npm registry into tests/kube/node_modules.
KUBE_MODELS_VERSION = 5.1.0
kube-validator:
	$(MKDIR_P) $(abs_builddir)/tests/kube
	cd $(abs_builddir)/tests/kube && npm install --no-audit --no-fund --no-save --prefix . \
		kubernetes-models@$(KUBE_MODELS_VERSION)
clean-local: clean-kube-validator
clean-kube-validator:
	rm -rf $(abs_builddir)/tests/kube/node_modules $(abs_builddir)/tests/kube/package-lock.json
.PHONY: kube-validator clean-kube-validator
