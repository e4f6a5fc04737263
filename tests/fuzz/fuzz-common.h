/* What every libFuzzer target here shares: GLib criticals (a GError set twice, a
 * g_return_if_fail) are bugs and abort; a refused input must come with an error whose
 * message names the file. Include it once, from the target's .c file.
 *
 * Warnings are fatal too, unless the target defines FUZZ_WARNINGS_ARE_REPORTS before the
 * include: the block layer reports corrupt metadata found during I/O with g_warning (its
 * rate-limited log, block/qcow2.c), which is its documented answer to a hostile
 * image, not a bug. Those targets drop the messages instead of printing a million lines. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#ifdef FUZZ_WARNINGS_ARE_REPORTS
static void fuzz_drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	(void)domain;
	(void)msg;
	(void)data;
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
		abort();
}
#endif

/* Prints the message and aborts on warnings and criticals. GLib's own fatal path ends in
 * SIGTRAP (G_BREAKPOINT), which libFuzzer does not catch: the fuzzer died without keeping the
 * input. abort() is a crash that libFuzzer saves as crash-<hash>. */
static void fuzz_fatal_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
	g_log_default_handler(domain, level, msg, data);
	if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
#ifdef FUZZ_WARNINGS_ARE_REPORTS
	g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);
	g_log_set_default_handler(fuzz_drop_log, NULL);
#else
	g_log_set_always_fatal(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
	g_log_set_default_handler(fuzz_fatal_log, NULL);
#endif
	return 0;
}

/* SEPIA_FUZZ_VERBOSE=1 prints each refusal (to see why a seed is refused). */
static inline void fuzz_show_refusal(const GError *error)
{
	static int verbose = -1;
	if (verbose < 0)
		verbose = g_getenv("SEPIA_FUZZ_VERBOSE") != NULL;
	if (verbose && error)
		g_printerr("refused: %s\n", error->message);
}

/* A refusal: error must be set and its message start with prefix (the file's name). */
static inline void fuzz_expect_refusal(GError **error, const char *prefix)
{
	fuzz_show_refusal(*error);
	if (!*error || !g_str_has_prefix((*error)->message, prefix))
		abort();
	g_clear_error(error);
}

/* Like fuzz_expect_refusal, for messages that name the file somewhere inside. */
static inline void fuzz_expect_error_naming(GError **error, const char *name)
{
	fuzz_show_refusal(*error);
	if (!*error || !strstr((*error)->message, name))
		abort();
	g_clear_error(error);
}

/* Replaces the contents of fd with data (a file created once per process: rewriting it is
 * far cheaper than creating, syncing and renaming a file per input). */
static inline void fuzz_rewrite_fd(int fd, const void *data, size_t size)
{
	if (ftruncate(fd, 0) < 0)
		abort();
	size_t done = 0;
	while (done < size) {
		ssize_t n = pwrite(fd, (const char *)data + done, size - done, (off_t)done);
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
}

/* Input bytes as numbers, for targets that derive offsets from the input. */
static inline uint64_t fuzz_le64(const uint8_t *data, size_t size, size_t at)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v |= (uint64_t)(at + i < size ? data[at + i] : 0) << (8 * i);
	return v;
}

/* A private directory for the files a target creates once (tmpfs when /dev/shm exists, so
 * rewriting them costs no disk I/O); flat, removed at exit. */
static char *fuzz_dir;

static void fuzz_remove_dir(void)
{
	GDir *d = fuzz_dir ? g_dir_open(fuzz_dir, 0, NULL) : NULL;
	if (!d)
		return;
	const char *name;
	while ((name = g_dir_read_name(d))) {
		g_autofree char *p = g_build_filename(fuzz_dir, name, NULL);
		(void)unlink(p);
	}
	g_dir_close(d);
	(void)rmdir(fuzz_dir);
}

static inline const char *fuzz_private_dir(const char *target)
{
	if (fuzz_dir)
		return fuzz_dir;
	const char *base = g_file_test("/dev/shm", G_FILE_TEST_IS_DIR) ? "/dev/shm" : g_get_tmp_dir();
	g_autofree char *tmpl = g_strdup_printf("%s/sepia-%s-XXXXXX", base, target);
	if (!g_mkdtemp(tmpl))
		abort();
	fuzz_dir = g_steal_pointer(&tmpl);
	atexit(fuzz_remove_dir);
	return fuzz_dir;
}

/* Creates (or replaces) a file in the private directory; returns its path. */
static inline char *fuzz_make_file(const char *name, const void *data, size_t size)
{
	char *path = g_build_filename(fuzz_private_dir("fuzz"), name, NULL);
	if (!g_file_set_contents(path, data, (gssize)size, NULL))
		abort();
	return path;
}
