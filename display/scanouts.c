/* display/scanouts.c — see scanouts.h. */
#include "display/scanouts.h"

#include <string.h>

char *display_fb_path(const char *dir, guint index)
{
	g_autofree char *name = g_strdup_printf("display%u.fb", index);
	return g_build_filename(dir, name, NULL);
}

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
