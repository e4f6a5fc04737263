/* The jail: namespaces of its own, an empty root, and no privileges.
 *
 * The namespaces are made at the very start, while the process has one thread, because
 * every thread created afterwards shares them (a mount namespace made later would hold only
 * the thread that made it). The machine is then built as usual, and only then does the VMM
 * pivot into an empty read-only tmpfs: everything it reads and writes is already open
 * (/dev/kvm, the disks and their backing files, TAPs, the sockets it listens on, the
 * framebuffer files, Mesa's libraries), so the new root needs one directory only, the one of
 * the vsock socket, where a guest's connect to host port P finds the unix socket PATH_P. It
 * is bound at its own path, read-only, so the paths the monitor uses stay the same.
 *
 * A new PID namespace has to be made by the parent (a process cannot move itself into one):
 * run_cvd starts sepia-vmm with clone(CLONE_NEWPID), so the VMM is PID 1 of its own. */
#include "devices/sandbox/sandbox_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

#define JAIL_HOSTNAME "sepia-vmm"

static bool write_proc_file(const char *path, const char *text, GError **error)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));
	int saved = errno;
	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)strlen(text)) {
		g_set_error(error, SEPIA_ERROR, saved, "sandbox: cannot write %s: %s", path,
			    g_strerror(saved));
		return false;
	}
	return true;
}

/* Not root: a user namespace in which the VMM keeps its own uid and gid (one line each,
 * all an unprivileged process may map), so files and devices answer as before. */
static bool enter_user_namespace(struct sandbox_jail *jail, GError **error)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
		g_message("sandbox: no jail: this host allows no user namespace to uid %u (%s); the "
			  "system-call "
			  "filters still apply",
			  (unsigned int)uid, g_strerror(errno));
		return true;
	}
	g_autofree char *uid_map = g_strdup_printf("%u %u 1\n", (unsigned int)uid, (unsigned int)uid);
	g_autofree char *gid_map = g_strdup_printf("%u %u 1\n", (unsigned int)gid, (unsigned int)gid);
	if (!write_proc_file("/proc/self/setgroups", "deny", error) ||
	    !write_proc_file("/proc/self/uid_map", uid_map, error) ||
	    !write_proc_file("/proc/self/gid_map", gid_map, error))
		return false;
	jail->user_ns = true;
	return true;
}

bool sandbox_jail_enter_namespaces(struct sandbox_jail *jail, GError **error)
{
	/* Root gives up root with or without namespaces. */
	jail->drop_ids = geteuid() == 0;
	if (geteuid() != 0) {
		if (!enter_user_namespace(jail, error))
			return false;
		if (!jail->user_ns)
			return true;
	} else if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) < 0) {
		/* A container that withholds CAP_SYS_ADMIN: the filters are all there is. */
		g_message("sandbox: no jail: cannot make mount, IPC and UTS namespaces as root (%s); the "
			  "system-call filters still apply",
			  g_strerror(errno));
		return true;
	}
	/* Nothing mounted or unmounted here reaches the host, and nothing of the host's
	 * later mounts reaches the jail. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		/* A chroot whose root is no mount point (EINVAL): the mounts around it cannot be
		 * named from inside, so none may be made here either. */
		if (errno == EINVAL) {
			g_message("sandbox: no jail: / is not a mount point (a chroot?), so the jail's "
				  "mounts could reach the host's; the uid drop and the system-call filters "
				  "still apply");
			return true;
		}
		/* A host may hand out user namespaces yet let them mount nothing (Ubuntu's AppArmor
		 * restriction of unprivileged user namespaces): no jail, as without them. */
		if (jail->user_ns && (errno == EPERM || errno == EACCES)) {
			g_message("sandbox: no jail: this host lets uid %u's user namespace mount nothing "
				  "(%s); "
				  "the system-call filters still apply",
				  (unsigned int)geteuid(), g_strerror(errno));
			return true;
		}
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot make the mount namespace private: %s",
			    g_strerror(errno));
		return false;
	}
	if (sethostname(JAIL_HOSTNAME, strlen(JAIL_HOSTNAME)) < 0)
		g_debug("sandbox: sethostname: %s", g_strerror(errno));
	jail->namespaces = true;
	return true;
}

/* mkdir -p of an absolute path below root. */
static bool make_path_below(const char *root, const char *path, GError **error)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);
	g_autoptr(GString) at = g_string_new(root);
	for (unsigned int i = 0; parts[i]; i++) {
		if (!*parts[i])
			continue;
		g_string_append_printf(at, "/%s", parts[i]);
		if (mkdir(at->str, 0755) < 0 && errno != EEXIST) {
			g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot make %s in the jail: %s",
				    at->str, g_strerror(errno));
			return false;
		}
	}
	return true;
}

/* keep_fd's directory bound read-only at the same path under root. */
static bool bind_kept_dir(const char *root, const char *keep_dir, int keep_fd, GError **error)
{
	g_autofree char *target = g_strconcat(root, keep_dir, NULL);
	g_autofree char *source = g_strdup_printf("/proc/self/fd/%d", keep_fd);
	if (!make_path_below(root, keep_dir, error))
		return false;
	if (mount(source, target, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot bind %s into the jail: %s", keep_dir,
			    g_strerror(errno));
		return false;
	}
	return true;
}

bool sandbox_jail_pivot(const struct sandbox_jail *jail, const char *keep_dir, GError **error)
{
	if (keep_dir && !strcmp(keep_dir, "/")) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "sandbox: the vsock socket is in /, which the jail would have to hold whole: put "
			    "it in "
			    "a directory of its own");
		return false;
	}
	/* Opened before the tmpfs may cover it (a socket directory under /tmp). */
	int keep_fd = keep_dir ? open(keep_dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	if (keep_dir && keep_fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot open %s for the jail: %s", keep_dir,
			    g_strerror(errno));
		return false;
	}
	/* Any directory will do as the mount point: this mount namespace is the VMM's alone. */
	const char *root = g_file_test("/tmp", G_FILE_TEST_IS_DIR) ? "/tmp" : "/mnt";
	bool ok = false;
	if (mount("sepia-jail", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=64k") < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot mount the jail's tmpfs on %s: %s",
			    root, g_strerror(errno));
		goto out;
	}
	if (keep_dir && !bind_kept_dir(root, keep_dir, keep_fd, error))
		goto out;
	/* pivot_root(".", "."): the old root lands on top of the new one and is detached. A root
	 * that is the initramfs (rootfs) cannot be pivoted (EINVAL): there, as switch_root does,
	 * the jail's tmpfs is moved over / and the VMM chroots into it; the old root stays below,
	 * out of reach of a process that may not chroot again (no capability left, see
	 * sandbox_jail_drop_privileges). */
	if (chdir(root) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot enter the jail at %s: %s", root,
			    g_strerror(errno));
		goto out;
	}
	bool pivoted = syscall(SYS_pivot_root, ".", ".") == 0;
	if (pivoted ? umount2(".", MNT_DETACH) < 0
		    : errno != EINVAL || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot pivot into the jail at %s: %s", root,
			    g_strerror(errno));
		goto out;
	}
	if (chdir("/") < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot enter the jail's root: %s",
			    g_strerror(errno));
		goto out;
	}
	if (!pivoted)
		g_message("sandbox: / is the initramfs, which cannot be pivoted: the jail's root was "
			  "moved over it and entered with chroot");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot make the jail's root read-only: %s",
			    g_strerror(errno));
		goto out;
	}
	ok = true;
out:
	if (keep_fd >= 0)
		close(keep_fd);
	return ok;
}

/* No capability left in the permitted, effective or inheritable sets of this thread. */
static bool clear_thread_capabilities(GError **error)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	if (syscall(SYS_capset, &hdr, data) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot drop capabilities: %s",
			    g_strerror(errno));
		return false;
	}
	return true;
}

void sandbox_jail_drop_bounding_set(void)
{
	/* Needs CAP_SETPCAP; without it (not root, no user namespace) there is nothing to drop. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		prctl(PR_CAPBSET_DROP, cap);
}

bool sandbox_jail_drop_privileges(const struct sandbox_jail *jail, GError **error)
{
	/* Already done at the start (sandbox_prepare); again for a caller that did not. */
	sandbox_jail_drop_bounding_set();
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (jail->drop_ids) {
		/* A change of ids clears the parent-death signal: the monitor's SIGTERM when it
		 * dies (the VMM never outlives it) is set again. */
		int parent_death = 0;
		prctl(PR_GET_PDEATHSIG, &parent_death);
		/* glibc changes the ids of every thread; leaving uid 0 empties their capability
		 * sets (no SECBIT_KEEP_CAPS). */
		if (setgroups(0, NULL) < 0 || setresgid(jail->gid, jail->gid, jail->gid) < 0 ||
		    setresuid(jail->uid, jail->uid, jail->uid) < 0) {
			g_set_error(error, SEPIA_ERROR, errno, "sandbox: cannot switch to uid %u gid %u: %s",
				    (unsigned int)jail->uid, (unsigned int)jail->gid, g_strerror(errno));
			return false;
		}
		if (parent_death)
			prctl(PR_SET_PDEATHSIG, parent_death);
	}
	if (!clear_thread_capabilities(error))
		return false;
	uid_t r, e, s;
	if (jail->drop_ids && (getresuid(&r, &e, &s) < 0 || !r || !e || !s)) {
		g_set_error(error, SEPIA_ERROR, EPERM, "sandbox: still uid 0 after the switch to uid %u",
			    (unsigned int)jail->uid);
		return false;
	}
	return true;
}

bool sandbox_jail_drop_thread_capabilities(GError **error) { return clear_thread_capabilities(error); }
