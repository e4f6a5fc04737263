/* sepia guest init: the `sepia.*` options of the kernel command line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SEPIA_OPTION_VALUE_MAX 1024
#define SEPIA_MAX_NETS         4

struct sepia_options {
	/* sepia.shell=0|1|TTY: a shell on the console ("1") or on /dev/TTY. */
	char shell[64];
	/* sepia.run=CMD: run `sh -c CMD` on the console, then power off. */
	char run[SEPIA_OPTION_VALUE_MAX];
	/* sepia.control=hvcN: the host's command channel on /dev/hvcN
	 * (control.h); empty: none. */
	char control[32];
	/* sepia.logcat=hvcN: logd streams the log to /dev/hvcN (logd.h); empty: none. */
	char logcat[32];
	/* sepia.hostname=NAME */
	char hostname[65];
	/* sepia.debug=1: one line per init event on the console. */
	bool debug;
	/* sepia.reboot=1: after sepia.run, reboot instead of powering off. */
	bool reboot_after_run;
	/* sepia.net=IFACE:dhcp or IFACE:ADDR/PREFIX[,gw=GATEWAY], repeatable (net.h). */
	char net[SEPIA_MAX_NETS][128];
	unsigned int nr_nets;
	/* sepia.adbd=0: no adb daemon (default: /sbin/adbd on vsock port 5555). */
	bool adbd;
	/* sepia.gpu_pattern=1: before the boot-completed marker, show the display
	 * test pattern with /bin/gpu-pattern (guest/tools/gpu-pattern.c). */
	bool gpu_pattern;
	/* sepia.boot_snapshot=1: stop at the boot snapshot point (control.h) and
	 * wait for the host on the control channel before mounting /data. */
	bool boot_snapshot;
};

/* Fills *opts with defaults, then applies every `sepia.*` word of cmdline
 * (the text of /proc/cmdline). Double quotes group words as the kernel does:
 * sepia.run="echo a b". Unknown sepia.* keys are reported through warn(). */
void sepia_options_parse(struct sepia_options *opts, const char *cmdline, void (*warn)(const char *key));

/* Splits the next word off *cursor, removing double quotes; returns false at
 * the end. The word is written to buf (truncated to size-1 bytes). */
bool cmdline_next_word(const char **cursor, char *buf, size_t size);
