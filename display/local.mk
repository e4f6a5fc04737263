# display/: the scanout files sepia-vmm publishes, and the host tools that show them.
noinst_LIBRARIES += display/libsepiadisplay.a
display_libsepiadisplay_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
display_libsepiadisplay_a_SOURCES = display/framebuffer.c display/framebuffer.h
display_libsepiadisplay_a_SOURCES += display/png.c display/png.h
display_libsepiadisplay_a_CFLAGS += $(ZLIB_CFLAGS)
DISPLAY_LIBS = display/libsepiadisplay.a $(GLIB_LIBS) $(ZLIB_LIBS)
