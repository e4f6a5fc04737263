# net/: host resources. sepia-vsock-proxy relays TCP clients (adb) to a guest vsock port
# through sepia-vmm's vsock unix socket.
bin_PROGRAMS += sepia-vsock-proxy
sepia_vsock_proxy_SOURCES = net/vsock_proxy.c
sepia_vsock_proxy_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
sepia_vsock_proxy_LDADD = $(COMMON_LIBS)
