# common/: what every layer shares: sepia's error domain, byte order, the log line, and the
# Cuttlefish-style flags parser. It includes nothing of sepia's above it.
noinst_LIBRARIES += common/libsepiacommon.a
common_libsepiacommon_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
common_libsepiacommon_a_SOURCES = \
	common/byteorder.h \
	common/error.c common/error.h \
	common/flags.c common/flags.h \
	common/log.c common/log.h
COMMON_LIBS = common/libsepiacommon.a $(GLIB_LIBS)
