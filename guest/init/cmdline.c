/* sepia guest init: the `sepia.*` options of the kernel command line. */
#include "cmdline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cmdline_next_word(const char **cursor, char *buf, size_t size)
{
	const char *p = *cursor;
	size_t len = 0;
	bool quoted = false;

	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p == '\0') {
		*cursor = p;
		return false;
	}
	for (; *p != '\0'; p++) {
		if (*p == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (*p == ' ' || *p == '\t' || *p == '\n'))
			break;
		if (len + 1 < size)
			buf[len++] = *p;
	}
	buf[len] = '\0';
	*cursor = p;
	return true;
}

static bool parse_bool(const char *value)
{
	/* A bare `sepia.debug` (no value) means on, like kernel flags. */
	return value == NULL || strcmp(value, "1") == 0 || strcmp(value, "y") == 0 ||
	       strcmp(value, "yes") == 0 || strcmp(value, "on") == 0 || strcmp(value, "true") == 0;
}

static bool parse_false(const char *value)
{
	return value != NULL &&
	       (strcmp(value, "0") == 0 || strcmp(value, "n") == 0 || strcmp(value, "no") == 0 ||
		strcmp(value, "off") == 0 || strcmp(value, "false") == 0 || value[0] == '\0');
}

static void copy_value(char *dst, size_t size, const char *value)
{
	snprintf(dst, size, "%s", value != NULL ? value : "");
}

void sepia_options_parse(struct sepia_options *opts, const char *cmdline, void (*warn)(const char *key))
{
	char word[SEPIA_OPTION_VALUE_MAX + 64];
	const char *cursor = cmdline;

	memset(opts, 0, sizeof(*opts));
	snprintf(opts->hostname, sizeof(opts->hostname), "sepia");
	opts->adbd = true;

	while (cmdline_next_word(&cursor, word, sizeof(word))) {
		if (strncmp(word, "sepia.", 6) != 0)
			continue;
		char *key = word + 6;
		char *value = strchr(key, '=');
		if (value != NULL)
			*value++ = '\0';

		if (strcmp(key, "shell") == 0) {
			/* "1" means the console, "0" none, anything else names
			 * a tty under /dev (sepia.shell=hvc0). */
			if (parse_bool(value))
				copy_value(opts->shell, sizeof(opts->shell), "console");
			else if (parse_false(value))
				opts->shell[0] = '\0';
			else
				copy_value(opts->shell, sizeof(opts->shell), value);
		} else if (strcmp(key, "run") == 0) {
			copy_value(opts->run, sizeof(opts->run), value);
		} else if (strcmp(key, "control") == 0) {
			copy_value(opts->control, sizeof(opts->control), value);
		} else if (strcmp(key, "logcat") == 0) {
			copy_value(opts->logcat, sizeof(opts->logcat), value);
		} else if (strcmp(key, "hostname") == 0) {
			if (value != NULL && value[0] != '\0')
				copy_value(opts->hostname, sizeof(opts->hostname), value);
		} else if (strcmp(key, "debug") == 0) {
			opts->debug = parse_bool(value);
		} else if (strcmp(key, "reboot") == 0) {
			opts->reboot_after_run = parse_bool(value);
		} else if (strcmp(key, "net") == 0) {
			if (opts->nr_nets < SEPIA_MAX_NETS && value != NULL)
				copy_value(opts->net[opts->nr_nets++], sizeof(opts->net[0]), value);
			else if (warn != NULL)
				warn("net (more than 4, or no value)");
		} else if (strcmp(key, "adbd") == 0) {
			opts->adbd = !parse_false(value);
		} else if (strcmp(key, "gpu_pattern") == 0) {
			opts->gpu_pattern = parse_bool(value);
		} else if (strcmp(key, "boot_snapshot") == 0) {
			opts->boot_snapshot = parse_bool(value);
		} else if (warn != NULL) {
			warn(key);
		}
	}
}
