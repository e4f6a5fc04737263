/* sepia guest init: Android-style system properties, kept by init and read with
 * getprop (guest/tools/getprop.c).
 *
 * At boot init gathers:
 *   - ro.boot.NAME for every androidboot.NAME of the bootconfig (/proc/bootconfig,
 *     where sepia-bootloader puts the slot, the verified boot state, the serial,
 *     ...) and of the kernel command line (boot images older than v4), with
 *     Android's derived ro.serialno, ro.hardware and ro.bootmode;
 *   - every NAME=VALUE line of /system/build.prop (ro.product.*, ro.build.*);
 * and sets sys.boot_completed=1 and dev.bootcomplete=1 with the boot marker.
 * A ro.* property keeps its first value; others take the last one.
 *
 * They live in PROPERTIES_PATH, one NAME=VALUE line each, replaced as a whole
 * (a new file renamed over the old) so a reader never sees half of it. */
#pragma once

#define PROPERTIES_PATH    "/run/properties"
#define PROPERTY_NAME_MAX  96
#define PROPERTY_VALUE_MAX 256
#define PROPERTY_COUNT_MAX 256

/* Gathers the boot-time properties and writes PROPERTIES_PATH; report() gets one
 * line per problem (an unreadable file, a malformed line). */
void properties_load(void (*report)(const char *fmt, ...));

/* Where properties_load_files reads and writes (the unit test's files). */
struct properties_sources {
	const char *bootconfig; /* /proc/bootconfig */
	const char *cmdline;    /* /proc/cmdline */
	const char *build_prop; /* /system/build.prop */
	const char *out;        /* PROPERTIES_PATH */
};

/* properties_load on other files: forgets what was set before, and properties_set
 * writes src->out from then on. */
void properties_load_files(const struct properties_sources *src, void (*report)(const char *fmt, ...));

/* Sets one property and rewrites the file; 0 or -errno (-EPERM: a ro.* that has
 * a value, -EINVAL: a bad name or value, -ENOSPC: too many). */
int properties_set(const char *name, const char *value);
