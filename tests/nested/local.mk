# tests/nested: sepia on a hardware-virtualisation KVM (kvm_amd) inside a QEMU TCG guest whose
# emulated AMD CPU has SVM (tests/nested/README.md). Skips without root, QEMU or the cloud kernel.
NESTED_TESTS = tests/nested/hw-kvm.sh
TESTS += $(NESTED_TESTS)
EXTRA_DIST += $(NESTED_TESTS) tests/nested/l1-image.sh tests/nested/l1-init.sh tests/nested/l1-checks.sh \
	tests/nested/README.md
