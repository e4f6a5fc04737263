/* sepia guest init: Android-style system properties. See properties.h. */
#include "properties.h"

#include "cmdline.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct property {
	char name[PROPERTY_NAME_MAX];
	char value[PROPERTY_VALUE_MAX];
};

static struct property props[PROPERTY_COUNT_MAX];
static unsigned int prop_count;
static const char *props_path = PROPERTIES_PATH;

static bool valid_name(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len >= PROPERTY_NAME_MAX || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-:@", *p))
			return false;
	return true;
}

/* Sets without writing the file. */
static int set_one(const char *name, const char *value)
{
	struct property *p = NULL;

	if (!valid_name(name) || strlen(value) >= PROPERTY_VALUE_MAX || strchr(value, '\n'))
		return -EINVAL;
	for (unsigned int i = 0; i < prop_count; i++)
		if (strcmp(props[i].name, name) == 0)
			p = &props[i];
	if (p != NULL && strncmp(name, "ro.", 3) == 0)
		return -EPERM;
	if (p == NULL) {
		if (prop_count == PROPERTY_COUNT_MAX)
			return -ENOSPC;
		p = &props[prop_count++];
		snprintf(p->name, sizeof(p->name), "%s", name);
	}
	snprintf(p->value, sizeof(p->value), "%s", value);
	return 0;
}

static const char *get_one(const char *name)
{
	for (unsigned int i = 0; i < prop_count; i++)
		if (strcmp(props[i].name, name) == 0)
			return props[i].value;
	return NULL;
}

static int write_all(void)
{
	char tmp[512];
	char line[PROPERTY_NAME_MAX + PROPERTY_VALUE_MAX + 2];
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.new", props_path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (unsigned int i = 0; i < prop_count && err == 0; i++) {
		int n = snprintf(line, sizeof(line), "%s=%s\n", props[i].name, props[i].value);
		if (write(fd, line, (size_t)n) != n)
			err = -EIO;
	}
	if (close(fd) < 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, props_path) < 0)
		err = -errno;
	if (err < 0)
		unlink(tmp);
	return err;
}

int properties_set(const char *name, const char *value)
{
	int err = set_one(name, value);
	return err < 0 ? err : write_all();
}

static int read_whole(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n, total = 0;

	if (fd < 0)
		return -errno;
	while ((size_t)total < size - 1 && (n = read(fd, buf + total, size - 1 - total)) > 0)
		total += n;
	close(fd);
	buf[total] = '\0';
	return (int)total;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* androidboot.NAME=VALUE -> ro.boot.NAME */
static void set_boot_property(const char *key, const char *value, void (*report)(const char *fmt, ...))
{
	char name[PROPERTY_NAME_MAX];
	int err;

	if (strncmp(key, "androidboot.", 12) != 0 || key[12] == '\0')
		return;
	if (snprintf(name, sizeof(name), "ro.boot.%s", key + 12) >= (int)sizeof(name)) {
		report("properties: %s: name too long, ignored", key);
		return;
	}
	err = set_one(name, value);
	if (err == -EINVAL || err == -ENOSPC)
		report("properties: %s: %s, ignored", name, strerror(-err));
}

/* One line of /proc/bootconfig: KEY = "V" or KEY = "V1", "V2" (a list becomes
 * V1,V2). Quotes are '"' or '\'' (the kernel uses the one the value lacks). */
static void parse_bootconfig_line(char *line, void (*report)(const char *fmt, ...))
{
	char value[PROPERTY_VALUE_MAX];
	size_t len = 0;
	char *eq = strchr(line, '=');
	char *p;

	if (eq == NULL)
		return;
	*eq = '\0';
	p = trim(eq + 1);
	while (*p) {
		char quote = *p;
		char *end;

		if (quote != '"' && quote != '\'') {
			report("properties: bootconfig %s: unquoted value, ignored", trim(line));
			return;
		}
		end = strchr(p + 1, quote);
		if (end == NULL)
			return;
		if (len > 0 && len < sizeof(value) - 1)
			value[len++] = ',';
		for (char *c = p + 1; c < end && len < sizeof(value) - 1; c++)
			value[len++] = *c;
		p = end + 1;
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
	}
	value[len] = '\0';
	set_boot_property(trim(line), value, report);
}

static void load_bootconfig(const char *path, void (*report)(const char *fmt, ...))
{
	static char text[16384];

	if (read_whole(path, text, sizeof(text)) <= 0)
		return; /* no bootconfig: an older boot image, or a kernel without it */
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n"))
		parse_bootconfig_line(line, report);
}

static void load_cmdline(const char *path, void (*report)(const char *fmt, ...))
{
	static char text[4096];
	char word[PROPERTY_NAME_MAX + PROPERTY_VALUE_MAX];
	const char *cursor = text;

	if (read_whole(path, text, sizeof(text)) <= 0)
		return;
	while (cmdline_next_word(&cursor, word, sizeof(word))) {
		char *eq = strchr(word, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		set_boot_property(word, eq + 1, report);
	}
}

/* NAME=VALUE lines; '#' starts a comment line; blank lines are skipped. */
static void load_prop_file(const char *path, void (*report)(const char *fmt, ...))
{
	static char text[32768];
	int n = read_whole(path, text, sizeof(text));

	if (n < 0) {
		report("properties: cannot read %s: %s", path, strerror(-n));
		return;
	}
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		char *eq, *name;
		int err;

		line = trim(line);
		if (line[0] == '\0' || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL) {
			report("properties: %s: '%s' is not NAME=VALUE, ignored", path, line);
			continue;
		}
		*eq = '\0';
		name = trim(line);
		err = set_one(name, trim(eq + 1));
		if (err == -EINVAL || err == -ENOSPC)
			report("properties: %s: %s: %s, ignored", path, name, strerror(-err));
	}
}

/* What Android's init derives from the ro.boot.* it imported. */
static void derive(const char *name, const char *from, const char *fallback)
{
	const char *v = get_one(from);

	if (v != NULL || fallback != NULL)
		set_one(name, v != NULL ? v : fallback);
}

void properties_load_files(const struct properties_sources *src, void (*report)(const char *fmt, ...))
{
	int err;

	props_path = src->out;
	prop_count = 0;
	load_bootconfig(src->bootconfig, report);
	load_cmdline(src->cmdline, report);
	derive("ro.serialno", "ro.boot.serialno", "");
	derive("ro.hardware", "ro.boot.hardware", NULL);
	derive("ro.bootmode", "ro.boot.mode", "unknown");
	if (access(src->build_prop, F_OK) == 0)
		load_prop_file(src->build_prop, report);
	else
		report("properties: no %s: no ro.product.* or ro.build.*", src->build_prop);
	err = write_all();
	if (err < 0)
		report("properties: cannot write %s: %s", props_path, strerror(-err));
}

void properties_load(void (*report)(const char *fmt, ...))
{
	static const struct properties_sources boot = {
		.bootconfig = "/proc/bootconfig",
		.cmdline = "/proc/cmdline",
		.build_prop = "/system/build.prop",
		.out = PROPERTIES_PATH,
	};
	properties_load_files(&boot, report);
}
