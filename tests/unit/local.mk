# Unit tests: no KVM, GLib's test framework, TAP output.
UNIT_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
UNIT_LDADD = devices/libsepiavmm.a $(GLIB_LIBS)

check_PROGRAMS += tests/unit/test-emulate
tests_unit_test_emulate_SOURCES = tests/unit/test-emulate.c
tests_unit_test_emulate_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_emulate_LDADD = $(UNIT_LDADD)
TESTS += tests/unit/test-emulate
