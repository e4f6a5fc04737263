/* The sandbox's options and its order of steps (see sandbox.h): the jail (jail.c), the
 * resource caps (limits.c) and the system-call filters (seccomp.c, syscalls.c). */
#include "devices/sandbox/sandbox_internal.h"

#include <errno.h>
#include <glib-unix.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/error.h"

#define NOBODY        65534
#define DEFER_WAIT_US (10 * G_USEC_PER_SEC)

static struct {
	gchar *sandbox_arg, *seccomp_arg, *user_arg; /* as given */
	bool on;                                     /* --sandbox=auto */
	enum sandbox_seccomp_mode seccomp;
	bool user_given; /* --sandbox-user: a uid of this VMM's own */
	struct sandbox_jail jail;
	bool locked;
	/* Threads started before the lock-down install their filters from their loops. */
	int locked_fd; /* an eventfd, written once at the lock-down */
	GMutex lock;
	GCond cond;
	unsigned int deferred; /* such threads that have not installed theirs yet */
} sb = {
	.on = true, .seccomp = SANDBOX_SECCOMP_ON, .jail = { .uid = NOBODY, .gid = NOBODY }, .locked_fd = -1
};

/* ---- options ---- */

static bool parse_ids(const char *text, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(text, ":", 2);
	guint64 uid, gid;
	if (!g_ascii_string_to_unsigned(parts[0], 10, 1, G_MAXUINT32 - 1, &uid, NULL) ||
	    (parts[1] && !g_ascii_string_to_unsigned(parts[1], 10, 1, G_MAXUINT32 - 1, &gid, NULL))) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "--sandbox-user '%s': give UID:GID, numbers from 1 (the jail never runs as root)",
			    text);
		return false;
	}
	sb.jail.uid = (uid_t)uid;
	sb.jail.gid = parts[1] ? (gid_t)gid : (gid_t)uid;
	sb.user_given = true;
	return true;
}

static gboolean check_options(GOptionContext *ctx, GOptionGroup *group, gpointer data, GError **error)
{
	if (sb.sandbox_arg && strcmp(sb.sandbox_arg, "auto") && strcmp(sb.sandbox_arg, "off")) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--sandbox '%s': give auto or off", sb.sandbox_arg);
		return FALSE;
	}
	sb.on = !sb.sandbox_arg || !strcmp(sb.sandbox_arg, "auto");
	/* Learning the allowlists (devices/sandbox/learn-syscalls.sh): tests start sepia-vmm
	 * through launch_cvd and run_cvd, which pass the environment on. sandbox_prepare logs it. */
	const char *learn = g_getenv(SANDBOX_SECCOMP_ENV);
	if (!sb.seccomp_arg && learn && *learn)
		sb.seccomp_arg = g_strdup(learn);
	if (!sb.seccomp_arg)
		sb.seccomp = sb.on ? SANDBOX_SECCOMP_ON : SANDBOX_SECCOMP_OFF;
	else if (!strcmp(sb.seccomp_arg, "on"))
		sb.seccomp = SANDBOX_SECCOMP_ON;
	else if (!strcmp(sb.seccomp_arg, "log"))
		sb.seccomp = SANDBOX_SECCOMP_LOG;
	else if (!strcmp(sb.seccomp_arg, "off"))
		sb.seccomp = SANDBOX_SECCOMP_OFF;
	else {
		g_set_error(error, SEPIA_ERROR, EINVAL, "--seccomp '%s': give on, log or off",
			    sb.seccomp_arg);
		return FALSE;
	}
	return !sb.user_arg || parse_ids(sb.user_arg, error);
}

GOptionGroup *sandbox_option_group(void)
{
	static GOptionEntry entries[] = {
		{ "sandbox", 0, 0, G_OPTION_ARG_STRING, &sb.sandbox_arg,
		  "auto (default): jail, resource caps and system-call filters once the machine is built; "
		  "off: none of them (logged)",
		  "MODE" },
		{ "seccomp", 0, 0, G_OPTION_ARG_STRING, &sb.seccomp_arg,
		  "System-call filters per thread: on (default; a call outside the lists stops the VMM), log "
		  "(the kernel logs such calls and lets them run) or off",
		  "MODE" },
		{ "sandbox-user", 0, 0, G_OPTION_ARG_STRING, &sb.user_arg,
		  "As root: the uid and gid the jailed VMM runs as (default 65534:65534); a uid of its own "
		  "also caps its threads",
		  "UID:GID" },
		{ NULL },
	};
	GOptionGroup *group = g_option_group_new("sandbox", "Sandbox options:", "Show the sandbox options",
						 NULL, NULL);
	g_option_group_add_entries(group, entries);
	g_option_group_set_parse_hooks(group, NULL, check_options);
	return group;
}

/* ---- the steps ---- */

bool sandbox_prepare(GError **error)
{
	if (!sb.on) {
		g_message("sandbox: off (--sandbox=off): no jail, no resource caps%s; sepia-vmm keeps every "
			  "right of uid %u",
			  sb.seccomp == SANDBOX_SECCOMP_OFF ? ", no system-call filters" : "",
			  (unsigned int)geteuid());
		return true;
	}
	if (sb.seccomp == SANDBOX_SECCOMP_OFF)
		g_message("sandbox: system-call filters off (--seccomp=off)");
	else if (sb.seccomp == SANDBOX_SECCOMP_LOG)
		g_message("sandbox: system-call filters in log mode (--seccomp=log%s): calls outside the "
			  "allowlists run, and the kernel's audit log records them",
			  g_getenv(SANDBOX_SECCOMP_ENV) ? ", from " SANDBOX_SECCOMP_ENV : "");
	if (sb.user_given && geteuid() != 0)
		g_message("sandbox: --sandbox-user applies to root only; uid %u stays",
			  (unsigned int)geteuid());
	if (!sandbox_jail_enter_namespaces(&sb.jail, error))
		return false;
	sandbox_jail_drop_bounding_set();
	return true;
}

/* Written before the filters, logged after them: ids are not read under the filters. */
static char *lock_down_summary(const char *kept, const struct sandbox_limits *limits)
{
	g_autoptr(GString) what = g_string_new(NULL);
	if (sb.jail.namespaces)
		g_string_append_printf(what, "jailed (%smount, IPC and UTS namespaces%s; root: %s%s), ",
				       sb.jail.user_ns ? "user, " : "",
				       getpid() == 1 ? ", PID 1 of its own" : "", kept ? kept : "empty",
				       kept ? " read-only" : "");
	else
		g_string_append(what, "not jailed, ");
	g_string_append_printf(what, "uid %u gid %u, no capabilities", (unsigned int)getuid(),
			       (unsigned int)getgid());
	g_string_append_printf(what, "; caps: %" G_GUINT64_FORMAT " MiB of data, %" G_GUINT64_FORMAT " files",
			       limits->data_bytes >> 20, limits->files);
	if (limits->threads)
		g_string_append_printf(what, ", %" G_GUINT64_FORMAT " threads", limits->threads);
	if (sb.seccomp != SANDBOX_SECCOMP_OFF)
		g_string_append_printf(what, "; system calls filtered per thread%s",
				       sb.seccomp == SANDBOX_SECCOMP_LOG ? " (log mode)" : "");
	return g_string_free(g_steal_pointer(&what), FALSE);
}

/* Lets the threads that deferred their role install it, and waits until they have. */
static bool release_deferred(GError **error)
{
	if (sb.locked_fd < 0)
		return true;
	uint64_t one = 1;
	if (write(sb.locked_fd, &one, sizeof(one)) != sizeof(one)) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot wake the threads waiting for it: %s",
			    g_strerror(errno));
		return false;
	}
	gint64 deadline = g_get_monotonic_time() + DEFER_WAIT_US;
	bool ok = true;
	g_mutex_lock(&sb.lock);
	while (sb.deferred && ok)
		ok = g_cond_wait_until(&sb.cond, &sb.lock, deadline);
	g_mutex_unlock(&sb.lock);
	if (!ok)
		g_set_error(error, SEPIA_ERROR, ETIMEDOUT,
			    "sandbox: the GPU thread did not install its system-call filter within %d s",
			    (int)(DEFER_WAIT_US / G_USEC_PER_SEC));
	return ok;
}

bool sandbox_lock_down(const struct sandbox_machine *machine, GError **error)
{
	if (!sb.on && sb.seccomp == SANDBOX_SECCOMP_OFF)
		return true;
	if (sb.seccomp != SANDBOX_SECCOMP_OFF &&
	    !sandbox_seccomp_build(sb.seccomp, machine->api_listen_fd, error))
		return false;
	struct sandbox_limits limits = { 0 };
	g_autofree char *cwd = g_get_current_dir();
	g_autofree char *sock = machine->vsock_socket ? g_canonicalize_filename(machine->vsock_socket, cwd)
						      : NULL;
	g_autofree char *kept = sock ? g_path_get_dirname(sock) : NULL;
	g_autofree char *summary = NULL;
	if (sb.on) {
		if (!sandbox_limits_measure(machine, sb.jail.drop_ids && sb.user_given, &limits, error))
			return false;
		if (sb.jail.namespaces) {
			if (!sandbox_jail_pivot(&sb.jail, kept, error))
				return false;
			/* A relative --vsock path still names the same socket. */
			if (chdir(cwd) < 0 && chdir("/") < 0)
				g_debug("sandbox: chdir: %s", g_strerror(errno));
		}
		if (!sandbox_limits_apply(&limits, error) || !sandbox_jail_drop_privileges(&sb.jail, error))
			return false;
		prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
		summary = lock_down_summary(sb.jail.namespaces ? kept : NULL, &limits);
	}
	if (sb.seccomp != SANDBOX_SECCOMP_OFF) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "sandbox: PR_SET_NO_NEW_PRIVS: %s",
				    g_strerror(errno));
			return false;
		}
		if (!sandbox_seccomp_install_process(error))
			return false;
	} else if (sb.on) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	}
	sb.locked = true;
	if (!release_deferred(error))
		return false;
	if (summary)
		g_message("sandbox: %s", summary);
	return true;
}

bool sandbox_restricts(void) { return sb.on || sb.seccomp == SANDBOX_SECCOMP_ON; }

/* ---- thread roles ---- */

void sandbox_enter_role(enum sandbox_role role)
{
	if (!sb.locked)
		return;
	g_autoptr(GError) error = NULL;
	if (sb.jail.user_ns && !sandbox_jail_drop_thread_capabilities(&error))
		g_warning("sandbox: %s thread: %s", sandbox_role_name(role), error->message);
	if (sb.seccomp == SANDBOX_SECCOMP_OFF)
		return;
	int ret = sandbox_seccomp_install_role(role);
	/* The process-wide filter still holds it. */
	if (ret < 0)
		g_warning("sandbox: the %s thread keeps the process-wide filter only: %s",
			  sandbox_role_name(role), g_strerror(-ret));
}

static gboolean on_locked(gint fd, GIOCondition cond, gpointer data)
{
	sandbox_enter_role((enum sandbox_role)GPOINTER_TO_INT(data));
	g_mutex_lock(&sb.lock);
	sb.deferred--;
	g_cond_broadcast(&sb.cond);
	g_mutex_unlock(&sb.lock);
	return G_SOURCE_REMOVE;
}

void sandbox_defer_role(GMainContext *ctx, enum sandbox_role role)
{
	if (!sb.on && sb.seccomp == SANDBOX_SECCOMP_OFF)
		return;
	if (sb.locked) {
		sandbox_enter_role(role);
		return;
	}
	g_mutex_lock(&sb.lock);
	if (sb.locked_fd < 0)
		sb.locked_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sb.locked_fd < 0) {
		g_mutex_unlock(&sb.lock);
		g_warning("sandbox: eventfd: %s; the %s thread keeps the process-wide filter only",
			  g_strerror(errno), sandbox_role_name(role));
		return;
	}
	sb.deferred++;
	g_mutex_unlock(&sb.lock);
	GSource *src = g_unix_fd_source_new(sb.locked_fd, G_IO_IN);
	g_source_set_callback(src, G_SOURCE_FUNC(on_locked), GINT_TO_POINTER(role), NULL);
	g_source_attach(src, ctx);
	g_source_unref(src);
}
