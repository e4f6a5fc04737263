/* display/scanouts.c — see scanouts.h. */
#include "display/scanouts.h"

#include <errno.h>
#include <string.h>

#include "display/framebuffer.h"

bool display_parse_name(const char *s, const char *suffix, guint *index)
{
	if (!g_str_has_prefix(s, "display"))
		return false;
	const char *p = s + strlen("display");
	guint v = 0;
	const char *digits = p;
	while (g_ascii_isdigit(*p) && p - digits < 3)
		v = v * 10 + (guint)(*p++ - '0');
	if (p == digits || (*digits == '0' && p - digits > 1) || v > DISPLAY_MAX_INDEX || strcmp(p, suffix))
		return false;
	*index = v;
	return true;
}

static gint compare_uint(gconstpointer a, gconstpointer b)
{
	guint x = *(const guint *)a, y = *(const guint *)b;
	return x < y ? -1 : x > y;
}

GArray *display_list(const char *dir)
{
	GArray *out = g_array_new(FALSE, FALSE, sizeof(guint));
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d))) {
		guint k;
		if (display_parse_name(name, ".fb", &k))
			g_array_append_val(out, k);
	}
	g_array_sort(out, compare_uint);
	return out;
}

char *display_list_text(const GArray *indexes)
{
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < indexes->len; i++)
		g_string_append_printf(s, "%s%u", i ? ", " : "", g_array_index(indexes, guint, i));
	return g_string_free(s, FALSE);
}

bool display_parse_mode(const char *spec, bool allow_refresh_rate, struct display_mode *mode, GError **error)
{
	static const struct {
		const char *key;
		guint64 min, max;
	} keys[] = {
		{ "width", 16, 4096 },
		{ "height", 16, 4096 },
		{ "dpi", 10, 2000 },
		{ "refresh_rate_hz", 1, 240 },
	};
	guint64 v[G_N_ELEMENTS(keys)] = { 0, 0, 320, 0 };
	unsigned int nr_keys = allow_refresh_rate ? 4 : 3;
	g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
	for (unsigned int i = 0; parts[i]; i++) {
		const char *eq = strchr(parts[i], '=');
		unsigned int k = nr_keys;
		for (unsigned int j = 0; eq && j < nr_keys; j++)
			if (strlen(keys[j].key) == (size_t)(eq - parts[i]) &&
			    !strncmp(parts[i], keys[j].key, (size_t)(eq - parts[i])))
				k = j;
		if (k == nr_keys ||
		    !g_ascii_string_to_unsigned(eq + 1, 10, keys[k].min, keys[k].max, &v[k], NULL)) {
			g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
				    "'%s' is not width=16..4096, height=16..4096, dpi=10..2000%s", parts[i],
				    allow_refresh_rate ? " or refresh_rate_hz=1..240" : "");
			return false;
		}
	}
	if (!v[0] || !v[1]) {
		g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "give width=W,height=H");
		return false;
	}
	*mode = (struct display_mode){ (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2] };
	return true;
}

bool display_read_info(const char *path, struct display_info *info, GError **error)
{
	struct fb_file_header h;
	uint64_t inode;
	if (!fb_file_read_header(path, &h, &inode, error))
		return false;
	*info = (struct display_info){
		.width = MIN(h.width, h.max_width),
		.height = MIN(h.height, h.max_height),
		.dpi = h.dpi,
		.enabled = h.enabled != 0,
		.frames = h.frames,
		.update_usec = h.update_usec,
		.inode = inode,
	};
	return true;
}

char *display_info_version(const struct display_info *info)
{
	return g_strdup_printf("%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x",
			       info->inode, info->update_usec, info->frames);
}

char *display_error_version(const GError *error)
{
	return g_strdup(g_error_matches(error, FB_ERROR, ENOENT) ? "absent" : "unreadable");
}

char *display_version(const char *path)
{
	struct display_info info;
	g_autoptr(GError) err = NULL;
	return display_read_info(path, &info, &err) ? display_info_version(&info)
						    : display_error_version(err);
}
