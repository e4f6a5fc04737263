# sepia-vmm: the library holds everything but main() so unit tests link the real code.
noinst_LIBRARIES += devices/libsepiavmm.a
devices_libsepiavmm_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
devices_libsepiavmm_a_SOURCES = \
	devices/guestmem.c devices/guestmem.h \
	devices/emulate.c devices/emulate.h

bin_PROGRAMS += sepia-vmm
sepia_vmm_SOURCES = devices/main.c
sepia_vmm_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
sepia_vmm_LDADD = devices/libsepiavmm.a $(GLIB_LIBS) -lpthread
