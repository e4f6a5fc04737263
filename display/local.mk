# display/: the scanout files sepia-vmm publishes (framebuffer.h), the display list of an
# instance (scanouts.h) and the PNG encoder. The programs that show them (cvd_display,
# sepia-webview) live with the other host commands in launcher/.
noinst_LIBRARIES += display/libsepiadisplay.a
display_libsepiadisplay_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS)
display_libsepiadisplay_a_SOURCES = \
	display/framebuffer.c display/framebuffer.h \
	display/png.c display/png.h \
	display/scanouts.c display/scanouts.h
DISPLAY_LIBS = display/libsepiadisplay.a common/libsepiacommon.a $(GLIB_LIBS) $(ZLIB_LIBS)
