# Unit tests: no KVM, GLib's test framework, TAP output. Their sources live in tests/unit/;
# each folder's local.mk builds and registers the tests of its own code, with these flags.
UNIT_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS)
UNIT_LDADD = $(VMM_LIBS) $(GIO_LIBS)
# Header-only helpers the tests of several folders share.
EXTRA_DIST += tests/unit/image-testlib.h tests/unit/memdisk.h
