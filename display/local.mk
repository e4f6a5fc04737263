# display/: the scanout files sepia-vmm publishes (framebuffer.h), the display list of an
# instance (scanouts.h), the PNG encoder and decoder, and the reference comparison (match.h). The programs that show them (cvd_display,
# sepia-webview) live with the other host commands in launcher/.
noinst_LIBRARIES += display/libsepiadisplay.a
display_libsepiadisplay_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(ZLIB_CFLAGS)
display_libsepiadisplay_a_SOURCES = \
	display/framebuffer.c display/framebuffer.h \
	display/png.c display/png.h \
	display/match.c display/match.h \
	display/pngdec.c display/pngdec.h \
	display/scanouts.c display/scanouts.h
DISPLAY_LIBS = display/libsepiadisplay.a common/libsepiacommon.a $(GLIB_LIBS) $(ZLIB_LIBS)

# ---- unit tests of display/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
# sepia's PNG encoder against libpng's decoder, and a framebuffer file to PNG end to end.
check_PROGRAMS += tests/unit/test-png
tests_unit_test_png_CFLAGS = $(UNIT_CFLAGS) $(ZLIB_CFLAGS) $(LIBPNG_CFLAGS)
tests_unit_test_png_LDADD = $(DISPLAY_LIBS) $(LIBPNG_LIBS)
if HAVE_LIBPNG
tests_unit_test_png_CFLAGS += -DSEPIA_HAVE_LIBPNG
endif
TESTS += tests/unit/test-png

# The PNG decoder: sepia's encoder's output back, every filter and colour type, hostile files.
check_PROGRAMS += tests/unit/test-pngdec
tests_unit_test_pngdec_CFLAGS = $(UNIT_CFLAGS) $(ZLIB_CFLAGS)
tests_unit_test_pngdec_LDADD = $(DISPLAY_LIBS)
TESTS += tests/unit/test-pngdec

# The reference comparison behind cvd_display wait: regions, tolerance, sizes that do not fit.
check_PROGRAMS += tests/unit/test-fbmatch
tests_unit_test_fbmatch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fbmatch_LDADD = $(DISPLAY_LIBS)
TESTS += tests/unit/test-fbmatch
