/* The settings file is what a shell (and systemd's EnvironmentFile=) reads: KEY=value lines,
 * values optionally in single or double quotes, '#' comments, an optional leading "export ". */
#include "net/hostres_config.h"

#include <errno.h>
#include <string.h>

void hostres_config_init(HostresConfig *config)
{
	memset(config, 0, sizeof(*config));
	config->num_accounts = 10;
	config->ethernet_bridge = TRUE;
	config->wifi_bridge = TRUE;
	config->dns_servers = g_strsplit("8.8.8.8,8.8.4.4", ",", -1);
	config->tap_group = g_strdup("cvdnetwork");
}

void hostres_config_clear(HostresConfig *config)
{
	g_strfreev(config->dns_servers);
	g_free(config->bridge_interface);
	g_free(config->tap_group);
	memset(config, 0, sizeof(*config));
}

static gboolean parse_bool(const char *value, gboolean *out)
{
	static const char *const yes[] = { "1", "yes", "true", "on", NULL };
	static const char *const no[] = { "0", "no", "false", "off", "", NULL };
	for (int i = 0; yes[i]; i++)
		if (g_ascii_strcasecmp(value, yes[i]) == 0)
			return *out = TRUE, TRUE;
	for (int i = 0; no[i]; i++)
		if (g_ascii_strcasecmp(value, no[i]) == 0)
			return *out = FALSE, TRUE;
	return FALSE;
}

/* One shell word: 'x', "x" (with \" \\ \$ \` escapes) or bare up to blanks; the rest must be
 * blank or a comment. */
static gchar *parse_value(const char *s, const char **why)
{
	GString *out = g_string_new(NULL);
	while (*s && *s != ' ' && *s != '\t' && *s != '#') {
		if (*s == '\'') {
			const char *end = strchr(s + 1, '\'');
			if (!end)
				goto unterminated;
			g_string_append_len(out, s + 1, end - s - 1);
			s = end + 1;
		} else if (*s == '"') {
			for (s++; *s && *s != '"'; s++) {
				if (*s == '\\' && s[1] && strchr("\"\\$`", s[1]))
					s++;
				g_string_append_c(out, *s);
			}
			if (*s != '"')
				goto unterminated;
			s++;
		} else {
			g_string_append_c(out, *s++);
		}
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s && *s != '#') {
		*why = "text after the value (quote values with blanks)";
		return g_string_free(out, TRUE), NULL;
	}
	return g_string_free(out, FALSE);
unterminated:
	*why = "unterminated quote";
	return g_string_free(out, TRUE), NULL;
}

static gboolean config_set(HostresConfig *config, const char *key, const char *value, const char *where,
			   GError **error)
{
	if (g_str_equal(key, "num_cvd_accounts")) {
		guint64 n;
		if (!g_ascii_string_to_unsigned(value, 10, 1, HOSTRES_MAX_ACCOUNTS, &n, NULL)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: num_cvd_accounts: '%s' is not a number in 1..%d", where, value,
				    HOSTRES_MAX_ACCOUNTS);
			return FALSE;
		}
		config->num_accounts = (guint)n;
	} else if (g_str_equal(key, "ethernet_bridge") || g_str_equal(key, "wifi_bridge")) {
		gboolean *flag = g_str_equal(key, "ethernet_bridge") ? &config->ethernet_bridge
								     : &config->wifi_bridge;
		if (!parse_bool(value, flag)) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: %s: '%s' is not one of 1/0, yes/no, true/false, on/off", where, key,
				    value);
			return FALSE;
		}
	} else if (g_str_equal(key, "dns_servers")) {
		g_auto(GStrv) words = g_strsplit_set(value, ", \t", -1);
		GPtrArray *servers = g_ptr_array_new();
		for (int i = 0; words[i]; i++) {
			if (!*words[i])
				continue;
			if (!g_hostname_is_ip_address(words[i])) {
				g_ptr_array_free(servers, TRUE);
				g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
					    "%s: dns_servers: '%s' is not an IP address", where, words[i]);
				return FALSE;
			}
			g_ptr_array_add(servers, g_strdup(words[i]));
		}
		g_ptr_array_add(servers, NULL);
		g_strfreev(config->dns_servers);
		config->dns_servers = (gchar **)g_ptr_array_free(servers, FALSE);
	} else if (g_str_equal(key, "bridge_interface")) {
		if (strlen(value) >= 16) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
				    "%s: bridge_interface: '%s' is longer than an interface name can be",
				    where, value);
			return FALSE;
		}
		g_free(config->bridge_interface);
		config->bridge_interface = *value ? g_strdup(value) : NULL;
	} else if (g_str_equal(key, "cvd_group")) {
		g_free(config->tap_group);
		config->tap_group = *value ? g_strdup(value) : NULL;
	} else {
		/* A shell file may carry other variables; say so once and go on. */
		g_printerr("sepia-host-resources: %s: unknown setting '%s' ignored\n", where, key);
	}
	return TRUE;
}

gboolean hostres_config_parse(HostresConfig *config, const char *text, const char *path, GError **error)
{
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		g_autofree gchar *where = g_strdup_printf("%s line %d", path, i + 1);
		const char *line = lines[i];
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#' || *line == '\r')
			continue;
		if (g_str_has_prefix(line, "export "))
			line += strlen("export ");
		const char *eq = strchr(line, '=');
		gsize keylen = eq ? (gsize)(eq - line) : 0;
		for (gsize k = 0; k < keylen; k++)
			if (!g_ascii_isalnum(line[k]) && line[k] != '_')
				keylen = 0;
		if (keylen == 0) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: expected KEY=value",
				    where);
			return FALSE;
		}
		g_autofree gchar *key = g_strndup(line, keylen);
		g_autofree gchar *raw = g_strchomp(g_strdup(eq + 1));
		const char *why = NULL;
		g_autofree gchar *value = parse_value(raw, &why);
		if (!value) {
			g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: %s: %s", where, key,
				    why);
			return FALSE;
		}
		if (!config_set(config, key, value, where, error))
			return FALSE;
	}
	return TRUE;
}

gboolean hostres_config_load(HostresConfig *config, const char *path, gboolean must_exist, GError **error)
{
	g_autofree gchar *text = NULL;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &text, NULL, &local)) {
		if (!must_exist && g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "config %s: %s", path, local->message);
		return FALSE;
	}
	return hostres_config_parse(config, text, path, error);
}
