/* bench/rss-floor.c — the peak RSS any program of sepia-vmm's shape pays before it does any work
 * of its own: linked against the same shared libraries (GLib, libseccomp, zlib, libc), it parses
 * an option with GOption, starts one thread, turns a GLib main loop once, compiles a one-rule
 * seccomp filter without loading it, and opens a zlib stream. bench/vmm-vs-qemu.sh runs it
 * beside sepia-vmm: the difference is what sepia-vmm's own code and data cost.
 * Built with -DLIBC_ONLY it does nothing but return: the floor of a dynamically linked C program. */
#ifdef LIBC_ONLY
int main(void) { return 0; }
#else
#include <seccomp.h>
#include <zlib.h>

#include <glib.h>

static gpointer thread_main(gpointer data) { return data; }

static gboolean quit(gpointer loop)
{
	g_main_loop_quit(loop);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	gboolean flag = FALSE;
	GOptionEntry entries[] = { { "flag", 0, 0, G_OPTION_ARG_NONE, &flag, "unused", NULL }, { NULL } };
	GOptionContext *ctx = g_option_context_new(NULL);
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, NULL))
		return 2;
	g_option_context_free(ctx);

	GThread *t = g_thread_new("floor", thread_main, NULL);
	g_thread_join(t);

	GMainLoop *loop = g_main_loop_new(NULL, FALSE);
	g_idle_add(quit, loop);
	g_main_loop_run(loop);
	g_main_loop_unref(loop);

	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	if (!f || seccomp_rule_add(f, SCMP_ACT_ERRNO(1), SCMP_SYS(ptrace), 0) < 0)
		return 1;
	seccomp_release(f);

	z_stream z = { 0 };
	if (inflateInit2(&z, 15) != Z_OK)
		return 1;
	inflateEnd(&z);
	return 0;
}
#endif
