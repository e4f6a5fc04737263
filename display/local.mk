# display/: the scanout files sepia-vmm publishes, and the host tools that show them.
noinst_LIBRARIES += display/libsepiadisplay.a
display_libsepiadisplay_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
display_libsepiadisplay_a_SOURCES = display/framebuffer.c display/framebuffer.h
display_libsepiadisplay_a_SOURCES += display/png.c display/png.h
display_libsepiadisplay_a_CFLAGS += $(ZLIB_CFLAGS)
DISPLAY_LIBS = display/libsepiadisplay.a $(GLIB_LIBS) $(ZLIB_LIBS)
display_libsepiadisplay_a_SOURCES += display/scanouts.c display/scanouts.h

# cvd_display: screenshots (and a list) of a device's displays. It finds instances as the
# launcher's commands do (launcher/instance.h, launcher/flags.h).
bin_PROGRAMS += cvd_display
cvd_display_SOURCES = display/cvd_display.c
cvd_display_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
cvd_display_CFLAGS = $(LAUNCHER_CFLAGS)
cvd_display_LDADD = display/libsepiadisplay.a $(CONTROL_LIBS) $(ZLIB_LIBS)

# sepia-webview: the displays in a browser (HTTP/1.1, one thread per client). run_cvd starts it
# with launch_cvd --start_webview.
bin_PROGRAMS += sepia-webview
sepia_webview_SOURCES = display/webview.c display/http.c display/http.h
sepia_webview_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
sepia_webview_CFLAGS = $(LAUNCHER_CFLAGS) $(GIO_CFLAGS)
sepia_webview_LDADD = display/libsepiadisplay.a $(CONTROL_LIBS) $(GIO_LIBS) $(ZLIB_LIBS)
