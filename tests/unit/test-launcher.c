/* Unit tests for the launcher's shared parts: Cuttlefish-style flags, instance selection, the
 * control protocol's framing and the status JSON, the instance lock, the file modes, the
 * monitor's control server (peer credentials, clients that send nothing), kernel.log's cap and
 * --listen_address. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/capped_log.h"
#include "launcher/control.h"
#include "launcher/control_server.h"
#include "common/flags.h"
#include "launcher/file_modes.h"
#include "launcher/select.h"
#include "launcher/instance.h"
#include "launcher/suspend.h"
#include "launcher/vmm_child.h"

typedef struct {
	const char *dir;
	guint64 cpus;
	bool daemon, resume;
	struct cli_flag flags[3 + 1];
} Flags;

static enum cli_flags_result parse(Flags *f, const char *const *args, GError **error)
{
	f->dir = NULL, f->cpus = 2, f->daemon = false, f->resume = true;
	struct cli_flag table[] = {
		FLAG_STRING("system_image_dir", &f->dir, "dir"),
		FLAG_UINT("cpus", &f->cpus, 1, 64, "cpus"),
		FLAG_BOOL("daemon", &f->daemon, "daemon"),
		FLAG_BOOL("resume", &f->resume, "resume"),
	};
	memcpy(f->flags, table, sizeof(table));
	int argc = 1;
	char *argv[16] = { (char *)"prog" };
	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	return cli_flags_parse(f->flags, G_N_ELEMENTS(table), "usage", argc, argv, error);
}

static void test_flags_forms(void)
{
	Flags f;
	g_autoptr(GError) err = NULL;
	const char *a[] = { "--system_image_dir=/x", "-cpus", "4", "--daemon", "--noresume", NULL };
	g_assert_cmpint(parse(&f, a, &err), ==, CLI_FLAGS_OK);
	g_assert_no_error(err);
	g_assert_cmpstr(f.dir, ==, "/x");
	g_assert_cmpuint(f.cpus, ==, 4);
	g_assert_true(f.daemon && !f.resume && f.flags[0].seen && f.flags[1].seen);
	/* A boolean takes the next word only when it is a boolean. */
	const char *b[] = { "--resume", "false", "--daemon", "--cpus=1", NULL };
	g_assert_cmpint(parse(&f, b, &err), ==, CLI_FLAGS_OK);
	g_assert_true(!f.resume && f.daemon && f.cpus == 1);
	const char *c[] = { "--daemon=no", "--resume=TRUE", NULL };
	g_assert_cmpint(parse(&f, c, &err), ==, CLI_FLAGS_OK);
	g_assert_true(!f.daemon && f.resume);
}

static void expect_error(const char *const *args, const char *text)
{
	Flags f;
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(parse(&f, args, &err), ==, CLI_FLAGS_ERROR);
	g_assert_nonnull(err);
	if (!strstr(err->message, text))
		g_error("'%s' does not say '%s'", err->message, text);
}

static void test_flags_errors(void)
{
	expect_error((const char *[]){ "--bogus=1", NULL }, "unknown flag '--bogus=1'");
	expect_error((const char *[]){ "--cpus=0", NULL }, "--cpus: '0' is not a number 1..64");
	expect_error((const char *[]){ "--cpus", "lots", NULL }, "'lots' is not a number");
	expect_error((const char *[]){ "--cpus", NULL }, "--cpus needs a value");
	expect_error((const char *[]){ "--daemon=maybe", NULL }, "'maybe' is not a boolean");
	expect_error((const char *[]){ "--nodaemon=1", NULL }, "takes no value");
	expect_error((const char *[]){ "stray", NULL }, "unexpected argument 'stray'");
	expect_error((const char *[]){ "--nocpus", NULL }, "unknown flag");
}

static void select_instances(const char *list, guint64 num, bool num_seen, guint64 base, bool base_seen,
			     GArray *out, GError **error)
{
	const char *l = list;
	struct cli_flag f[] = {
		FLAG_STRING("instance_nums", &l, ""),
		FLAG_UINT("num_instances", &num, 1, 128, ""),
		FLAG_UINT("base_instance_num", &base, 1, 128, ""),
	};
	f[0].seen = list != NULL, f[1].seen = num_seen, f[2].seen = base_seen;
	launcher_select_instances(&f[0], &f[1], &f[2], out, error);
}

static void test_instances(void)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(guint));
	g_unsetenv("CUTTLEFISH_INSTANCE");
	select_instances(NULL, 3, true, 0, false, a, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(a->len, ==, 3);
	g_assert_cmpuint(g_array_index(a, guint, 0), ==, 1);
	g_assert_cmpuint(g_array_index(a, guint, 2), ==, 3);
	g_array_set_size(a, 0);
	g_setenv("CUTTLEFISH_INSTANCE", "5", TRUE);
	select_instances(NULL, 2, true, 0, false, a, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(g_array_index(a, guint, 0), ==, 5);
	g_assert_cmpuint(g_array_index(a, guint, 1), ==, 6);
	g_array_set_size(a, 0);
	select_instances("4,2", 1, false, 0, false, a, &err);
	g_assert_no_error(err);
	g_assert_cmpuint(a->len, ==, 2);
	g_assert_cmpuint(g_array_index(a, guint, 0), ==, 4);
	g_array_set_size(a, 0);
	select_instances("1,1", 1, false, 0, false, a, &err);
	g_assert_error(err, LAUNCHER_ERROR, EINVAL);
	g_clear_error(&err);
	select_instances("1", 2, true, 0, false, a, &err);
	g_assert_error(err, LAUNCHER_ERROR, EINVAL);
	g_clear_error(&err);
	g_array_set_size(a, 0);
	select_instances(NULL, 2, true, 128, true, a, &err);
	g_assert_error(err, LAUNCHER_ERROR, EINVAL);
	g_clear_error(&err);
	g_setenv("CUTTLEFISH_INSTANCE", "zero", TRUE);
	select_instances(NULL, 1, false, 0, false, a, &err);
	g_assert_error(err, LAUNCHER_ERROR, EINVAL);
	g_unsetenv("CUTTLEFISH_INSTANCE");
}

static void test_instance_paths(void)
{
	g_auto(LauncherInstance) inst = { 0 };
	launcher_instance_init(&inst, "/home/u", 3);
	g_assert_cmpstr(inst.name, ==, "cvd-3");
	g_assert_cmpstr(inst.dir, ==, "/home/u/cuttlefish/instances/cvd-3");
	g_assert_cmpstr(inst.socket_path, ==, "/home/u/cuttlefish/instances/cvd-3/launcher_monitor.sock");
	g_assert_cmpuint(inst.adb_port, ==, 6522);
	g_assert_cmpuint(inst.vsock_cid, ==, 5);
}

static void test_framing(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	ControlRequest req = SEPIA__CONTROL__REQUEST__INIT;
	req.command = SEPIA__CONTROL__REQUEST__COMMAND__POWERWASH;
	req.guest_timeout_s = 17;
	g_autoptr(GError) err = NULL;
	g_assert_true(control_send(sv[0], &req.base, "test", &err));
	g_autoptr(GBytes) got = control_recv(sv[1], 1000, "test", &err);
	g_assert_no_error(err);
	gsize len;
	const guint8 *data = g_bytes_get_data(got, &len);
	ControlRequest *back = sepia__control__request__unpack(NULL, len, data);
	g_assert_nonnull(back);
	g_assert_cmpint(back->command, ==, SEPIA__CONTROL__REQUEST__COMMAND__POWERWASH);
	g_assert_cmpuint(back->guest_timeout_s, ==, 17);
	sepia__control__request__free_unpacked(back, NULL);

	/* An announced length over the limit is refused before anything is read. */
	const guint8 huge[4] = { 0x7f, 0xff, 0xff, 0xff };
	g_assert_cmpint(write(sv[0], huge, 4), ==, 4);
	g_assert_null(control_recv(sv[1], 1000, "test", &err));
	g_assert_error(err, LAUNCHER_ERROR, EMSGSIZE);
	g_clear_error(&err);
	/* A message cut short by the peer is an error, not a hang. */
	const guint8 partial[6] = { 0, 0, 0, 10, 1, 2 };
	g_assert_cmpint(write(sv[0], partial, 6), ==, 6);
	close(sv[0]);
	g_assert_null(control_recv(sv[1], 1000, "test", &err));
	g_assert_error(err, LAUNCHER_ERROR, ECONNRESET);
	g_clear_error(&err);
	close(sv[1]);
	/* No answer in time. */
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_assert_null(control_recv(sv[1], 50, "test", &err));
	g_assert_error(err, LAUNCHER_ERROR, ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);
}

static void test_no_monitor(void)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *dir = g_dir_make_tmp("sepia-launcher-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "none.sock", NULL);
	g_assert_null(control_call(path, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0, 100, &err));
	g_assert_error(err, LAUNCHER_ERROR, ECONNREFUSED);
	g_assert_nonnull(strstr(err->message, path));
	rmdir(dir);
}

static void test_status_json(void)
{
	ControlStatus st = SEPIA__CONTROL__INSTANCE_STATUS__INIT;
	st.instance_name = (char *)"cvd-\"1\"";
	st.instance_dir = (char *)"/h/cvd-1";
	st.assembly_dir = (char *)"/h/a";
	st.adb_serial = (char *)"127.0.0.1:6520";
	st.state = SEPIA__CONTROL__STATE__RUNNING;
	st.pid = 42;
	st.cpus = 2;
	st.memory_mb = 512;
	st.boot_slot = (char *)"_a";
	st.verified_boot_state = (char *)"green";
	st.failure = (char *)"";
	g_autoptr(GString) o = g_string_new(NULL);
	control_status_to_json(o, &st, 0);
	g_assert_nonnull(strstr(o->str, "\"instance_name\": \"cvd-\\\"1\\\"\""));
	g_assert_nonnull(strstr(o->str, "\"status\": \"Running\""));
	g_assert_nonnull(strstr(o->str, "\"pid\": 42,"));
	g_assert_true(g_str_has_suffix(o->str, "}"));
	g_assert_nonnull(strstr(o->str, "\"restored_from\": \"\""));
	/* A suspended device from a snapshot says both. */
	st.state = SEPIA__CONTROL__STATE__SUSPENDED;
	st.restored_from = (char *)"/s/cvd-1";
	g_string_truncate(o, 0);
	control_status_to_json(o, &st, 0);
	g_assert_nonnull(strstr(o->str, "\"status\": \"Suspended\""));
	g_assert_nonnull(strstr(o->str, "\"restored_from\": \"/s/cvd-1\""));
}

/* suspend_cvd, resume_cvd and snapshot_util_cvd are refused, naming the instance and its
 * state, where no VMM runs or the state does not allow them; the state is left alone. */
static void test_suspend_refusals(void)
{
	ControlRequest req = SEPIA__CONTROL__REQUEST__INIT;
	Sepia__Control__State state = SEPIA__CONTROL__STATE__BOOTING;
	g_autoptr(GError) err = NULL;
	req.command = SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND;
	g_assert_false(suspend_serve(NULL, "cvd-1", &state, &req, &err));
	g_assert_nonnull(strstr(err->message, "cvd-1 is Booting: cannot suspend it"));
	g_assert_cmpint(state, ==, SEPIA__CONTROL__STATE__BOOTING);
	g_clear_error(&err);
	req.command = SEPIA__CONTROL__REQUEST__COMMAND__RESUME;
	state = SEPIA__CONTROL__STATE__STOPPING;
	g_assert_false(suspend_serve(NULL, "cvd-2", &state, &req, &err));
	g_assert_nonnull(strstr(err->message, "cvd-2 is Stopping: cannot resume it"));
	g_clear_error(&err);
	/* Asking for the state it is in already is no error. */
	state = SEPIA__CONTROL__STATE__RUNNING;
	g_assert_true(suspend_serve(NULL, "cvd-1", &state, &req, &err));
	req.command = SEPIA__CONTROL__REQUEST__COMMAND__SUSPEND;
	state = SEPIA__CONTROL__STATE__SUSPENDED;
	g_assert_true(suspend_serve(NULL, "cvd-1", &state, &req, &err));
	g_assert_no_error(err);
	/* A snapshot needs an absolute path, then a running or suspended VMM. */
	req.command = SEPIA__CONTROL__REQUEST__COMMAND__SNAPSHOT_TAKE;
	req.snapshot_path = (char *)"relative/dir";
	g_assert_false(suspend_serve(NULL, "cvd-1", &state, &req, &err));
	g_assert_nonnull(strstr(err->message, "absolute"));
	g_clear_error(&err);
	req.snapshot_path = (char *)"/abs/dir";
	state = SEPIA__CONTROL__STATE__FAILED;
	g_assert_false(suspend_serve(NULL, "cvd-1", &state, &req, &err));
	g_assert_nonnull(strstr(err->message, "cvd-1 is Failed: cannot snapshot it"));
	g_autofree char *dir = suspend_instance_dir("/snaps", "cvd-3");
	g_assert_cmpstr(dir, ==, "/snaps/cvd-3");
}

/* ---- the instance lock */

static void test_instance_lock(void)
{
	g_autofree char *home = g_dir_make_tmp("sepia-lock-XXXXXX", NULL);
	g_auto(LauncherInstance) inst = { 0 };
	launcher_instance_init(&inst, home, 2);
	g_autoptr(GError) err = NULL;
	g_assert_cmpint(launcher_instance_lock_holder(&inst), ==, 0);
	int fd = launcher_instance_lock(&inst, &err);
	g_assert_no_error(err);
	g_assert_cmpint(fd, >=, 0);
	g_assert_true(g_file_test(inst.dir, G_FILE_TEST_IS_DIR)); /* made when missing */
	g_assert_cmpint(fcntl(fd, F_GETFD) & FD_CLOEXEC, !=, 0);
	g_assert_cmpint(launcher_instance_lock_holder(&inst), ==, getpid());

	/* A second launch (another open file description, even in this process) is refused, naming
	 * the instance and the holder's pid. */
	g_assert_cmpint(launcher_instance_lock(&inst, &err), ==, -1);
	g_assert_error(err, LAUNCHER_ERROR, EBUSY);
	g_autofree char *pid_text = g_strdup_printf("(pid %d holds ", (int)getpid());
	g_assert_nonnull(strstr(err->message, "cvd-2 is already running"));
	g_assert_nonnull(strstr(err->message, pid_text));
	g_clear_error(&err);

	/* The monitor adopts the fd it inherited: the lock stays held by the child after the parent
	 * (launch_cvd --daemon) lets go, and ends with the child. The pid in the file is the child's. */
	int ready[2], release[2];
	g_assert_cmpint(pipe(ready), ==, 0);
	g_assert_cmpint(pipe(release), ==, 0);
	pid_t child = fork();
	if (child == 0) {
		char c;
		GError *e = NULL;
		close(ready[0]);
		close(release[1]);
		if (!launcher_instance_lock_adopt(&inst, fd, &e)) {
			g_printerr("adopt: %s\n", e->message);
			_exit(1);
		}
		if (write(ready[1], "a", 1) != 1 || read(release[0], &c, 1) < 0)
			_exit(2);
		_exit(0);
	}
	close(ready[1]);
	close(release[0]);
	char c;
	g_assert_cmpint(read(ready[0], &c, 1), ==, 1);
	close(fd);
	g_assert_cmpint(launcher_instance_lock(&inst, &err), ==, -1);
	g_assert_error(err, LAUNCHER_ERROR, EBUSY);
	g_clear_error(&err);
	g_assert_cmpint(launcher_instance_lock_holder(&inst), ==, child);
	g_assert_cmpint(write(release[1], "b", 1), ==, 1);
	int st;
	g_assert_cmpint(waitpid(child, &st, 0), ==, child);
	g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(ready[0]);
	close(release[1]);
	g_assert_cmpint(launcher_instance_lock_holder(&inst), ==, 0);
	fd = launcher_instance_lock(&inst, &err);
	g_assert_no_error(err);

	/* Adopting an fd that is not the instance's lock file is refused. */
	g_autofree char *other = g_build_filename(home, "other", NULL);
	int ofd = open(other, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	g_assert_false(launcher_instance_lock_adopt(&inst, ofd, &err));
	g_assert_error(err, LAUNCHER_ERROR, EBADF);
	g_clear_error(&err);
	close(ofd);
	close(fd);
	g_assert_true(launcher_remove_tree(home, NULL));
}

/* ---- file modes */

static void test_restricted_mode(void)
{
	g_assert_cmpuint(launcher_restricted_mode(S_IFDIR | 0755), ==, S_IFDIR | 0750);
	g_assert_cmpuint(launcher_restricted_mode(S_IFDIR | 02777), ==, S_IFDIR | 02750);
	g_assert_cmpuint(launcher_restricted_mode(S_IFDIR | 0500), ==, S_IFDIR | 0700);
	g_assert_cmpuint(launcher_restricted_mode(S_IFDIR | 0700), ==, S_IFDIR | 0700);
	g_assert_cmpuint(launcher_restricted_mode(S_IFREG | 0666), ==, S_IFREG | 0640);
	g_assert_cmpuint(launcher_restricted_mode(S_IFREG | 04755), ==, S_IFREG | 0640);
	g_assert_cmpuint(launcher_restricted_mode(S_IFREG | 0600), ==, S_IFREG | 0600);
	g_assert_cmpuint(launcher_restricted_mode(S_IFREG | 0444), ==, S_IFREG | 0640);
	g_assert_cmpuint(launcher_restricted_mode(S_IFSOCK | 0777), ==, S_IFSOCK | 0660);
	g_assert_cmpuint(launcher_restricted_mode(S_IFCHR | 0666), ==, S_IFCHR | 0666);
}

static guint mode_of(const char *path)
{
	struct stat st;
	g_assert_cmpint(lstat(path, &st), ==, 0);
	return st.st_mode & 07777;
}

static void test_restrict_tree(void)
{
	mode_t old = umask(0);
	g_autofree char *top = g_dir_make_tmp("sepia-modes-XXXXXX", NULL);
	g_autofree char *sub = g_build_filename(top, "instances", "cvd-1", NULL);
	g_assert_cmpint(g_mkdir_with_parents(sub, 0777), ==, 0);
	g_assert_cmpint(chmod(top, 0777), ==, 0);
	g_autofree char *data = g_build_filename(sub, "overlay.qcow2", NULL);
	g_assert_true(g_file_set_contents(data, "x", 1, NULL));
	g_assert_cmpint(chmod(data, 0666), ==, 0);
	g_autofree char *sock_path = g_build_filename(sub, "s.sock", NULL);
	int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
	g_assert_cmpint(bind(sfd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	g_autofree char *link = g_build_filename(top, "link", NULL);
	g_assert_cmpint(symlink("/etc/passwd", link), ==, 0); /* never followed */
	umask(old);
	struct stat passwd_before;
	g_assert_cmpint(stat("/etc/passwd", &passwd_before), ==, 0);

	g_autoptr(GError) err = NULL;
	g_assert_true(launcher_restrict_tree(top, &err));
	g_assert_no_error(err);
	g_assert_cmpuint(mode_of(top), ==, 0750);
	g_assert_cmpuint(mode_of(sub), ==, 0750);
	g_assert_cmpuint(mode_of(data), ==, 0640);
	g_assert_cmpuint(mode_of(sock_path), ==, 0660);
	struct stat passwd_after;
	g_assert_cmpint(stat("/etc/passwd", &passwd_after), ==, 0);
	g_assert_cmpuint(passwd_after.st_mode, ==, passwd_before.st_mode);
	/* A missing tree is nothing to do. */
	g_autofree char *none = g_build_filename(top, "none", NULL);
	g_assert_true(launcher_restrict_tree(none, &err));
	close(sfd);
	g_assert_true(launcher_remove_tree(top, NULL));
}

/* ---- the control server */

static void test_peer_check(void)
{
	int sv[2];
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	g_autoptr(GError) err = NULL;
	pid_t pid = 0;
	uid_t uid = 12345;
	g_assert_true(control_peer_check(sv[0], getuid(), &pid, &uid, &err));
	g_assert_no_error(err);
	g_assert_cmpint(pid, ==, getpid());
	g_assert_cmpuint(uid, ==, getuid());
	/* Owned by someone else: only root gets in besides the owner. */
	uid_t other = getuid() == 65534 ? 65533 : 65534;
	bool ok = control_peer_check(sv[0], other, NULL, NULL, &err);
	if (getuid() == 0) {
		g_assert_true(ok);
	} else {
		g_assert_false(ok);
		g_assert_error(err, LAUNCHER_ERROR, EACCES);
		g_autofree char *who = g_strdup_printf("(uid %u) refused", (unsigned)getuid());
		g_assert_nonnull(strstr(err->message, who));
		g_clear_error(&err);
	}
	close(sv[0]);
	close(sv[1]);
	if (getuid() != 0)
		return;
	/* As root: a client that is another user is refused; it connects as that user, since the
	 * credentials are taken at connect(). */
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_autofree char *name = g_strdup_printf("sepia-peer-test-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name)); /* abstract: no file permissions involved */
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	g_assert_cmpint(bind(lfd, (struct sockaddr *)&sa, salen), ==, 0);
	g_assert_cmpint(listen(lfd, 1), ==, 0);
	pid_t child = fork();
	if (child == 0) {
		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&sa, salen) < 0)
			_exit(4);
		char b;
		(void)!read(c, &b, 1);
		_exit(0);
	}
	int cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	g_assert_cmpint(cfd, >=, 0);
	g_assert_false(control_peer_check(cfd, 0, &pid, &uid, &err));
	g_assert_error(err, LAUNCHER_ERROR, EACCES);
	g_assert_nonnull(strstr(err->message, "(uid 65534) refused"));
	g_assert_cmpint(pid, ==, child);
	close(cfd);
	int st;
	waitpid(child, &st, 0);
	g_assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(lfd);
}

typedef struct {
	GPtrArray *logs;
	guint requests;
	const char *socket_path;
	ControlResponse *resp;
	GError *err;
	gint done;
} ServerTest;

static void server_test_log(void *opaque, const char *message)
{
	ServerTest *t = opaque;
	g_ptr_array_add(t->logs, g_strdup(message));
}

static void server_test_request(void *opaque, int fd, const ControlRequest *req)
{
	ServerTest *t = opaque;
	t->requests++;
	ControlResponse resp = SEPIA__CONTROL__RESPONSE__INIT;
	ControlStatus st = SEPIA__CONTROL__INSTANCE_STATUS__INIT;
	st.instance_name = (char *)"cvd-7";
	st.state = SEPIA__CONTROL__STATE__RUNNING;
	resp.ok = req->command == SEPIA__CONTROL__REQUEST__COMMAND__STATUS;
	resp.status = &st;
	g_assert_true(control_server_answer(fd, &resp.base, NULL));
}

static gpointer status_client(gpointer data)
{
	ServerTest *t = data;
	t->resp = control_call(t->socket_path, SEPIA__CONTROL__REQUEST__COMMAND__STATUS, 0, 30000, &t->err);
	g_atomic_int_set(&t->done, 1);
	g_main_context_wakeup(NULL);
	return NULL;
}

static int connect_to(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
	g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
	return fd;
}

static bool logged(ServerTest *t, const char *text)
{
	for (guint i = 0; i < t->logs->len; i++)
		if (strstr(t->logs->pdata[i], text))
			return true;
	return false;
}

/* Clients that connect and send nothing, or half a request, or a length past the limit, never
 * keep the server (the monitor's main loop) from answering the next client; they are dropped
 * after the timeout, each with a log line. */
static void test_server_silent_clients(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-ctl-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "launcher_monitor.sock", NULL);
	g_autoptr(GError) err = NULL;
	mode_t old = umask(0);
	int lfd = control_listen(path, &err);
	umask(old);
	g_assert_no_error(err);
	g_assert_cmpuint(mode_of(path), ==, 0660);
	ServerTest t = { .logs = g_ptr_array_new_with_free_func(g_free), .socket_path = path };
	/* The timeout is long enough that the status answer below comes first on any host. */
	ControlServer *srv = control_server_new(lfd, geteuid(), 60000, server_test_request, server_test_log,
						&t);

	int silent[8];
	for (guint i = 0; i < G_N_ELEMENTS(silent); i++)
		silent[i] = connect_to(path);
	int half = connect_to(path);
	const guint8 half_frame[6] = { 0, 0, 0, 40, 8, 1 };
	g_assert_cmpint(write(half, half_frame, sizeof(half_frame)), ==, (gssize)sizeof(half_frame));
	int huge = connect_to(path);
	const guint8 huge_frame[4] = { 0x7f, 0xff, 0xff, 0xff };
	g_assert_cmpint(write(huge, huge_frame, 4), ==, 4);

	GThread *client = g_thread_new("status", status_client, &t);
	while (!g_atomic_int_get(&t.done))
		g_main_context_iteration(NULL, TRUE);
	g_thread_join(client);
	g_assert_no_error(t.err);
	g_assert_nonnull(t.resp);
	g_assert_true(t.resp->ok);
	g_assert_cmpstr(t.resp->status->instance_name, ==, "cvd-7");
	g_assert_cmpuint(t.requests, ==, 1);
	control_response_free(t.resp);
	while (!logged(&t, "at most"))
		g_main_context_iteration(NULL, TRUE);
	/* 8 silent and 1 half client still wait; the one with the huge length is gone. */
	g_assert_cmpuint(control_server_pending(srv), ==, 9);
	control_server_free(srv);
	close(lfd);

	/* With a short timeout, the silent ones are dropped and logged. */
	lfd = control_listen(path, &err);
	g_assert_no_error(err);
	srv = control_server_new(lfd, geteuid(), 50, server_test_request, server_test_log, &t);
	int quiet = connect_to(path);
	while (!logged(&t, "no whole request within 50 ms: dropped"))
		g_main_context_iteration(NULL, TRUE);
	g_assert_cmpuint(control_server_pending(srv), ==, 0);
	char b;
	g_assert_cmpint(read(quiet, &b, 1), ==, 0); /* closed by the server */
	control_server_free(srv);
	close(lfd);
	close(quiet);
	for (guint i = 0; i < G_N_ELEMENTS(silent); i++)
		close(silent[i]);
	close(half);
	close(huge);
	g_ptr_array_unref(t.logs);
	g_assert_true(launcher_remove_tree(dir, NULL));
}

/* ---- kernel.log's cap */

static char *read_file(const char *path)
{
	char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, NULL))
		return g_strdup("");
	return text;
}

/* The console layout's words replace the image's console= words; quoted words stay whole. */
static void test_kernel_cmdline(void)
{
	g_autofree char *plain = vmm_child_kernel_cmdline("console=ttyS0 panic=-1 bootconfig", false);
	g_assert_cmpstr(plain, ==,
			"panic=-1 bootconfig earlycon=uart8250,io,0x3f8,115200 console=hvc0 "
			"sepia.logcat=hvc2 sepia.control=hvc3");
	g_autofree char *shell = vmm_child_kernel_cmdline(
		"a  sepia.run=\"echo console=x; true\" console=hvc0,115200 b", true);
	g_assert_cmpstr(shell, ==,
			"a sepia.run=\"echo console=x; true\" b earlycon=uart8250,io,0x3f8,115200 "
			"console=hvc0 sepia.logcat=hvc2 sepia.control=hvc3 sepia.shell=hvc1");
	g_autofree char *empty = vmm_child_kernel_cmdline("", false);
	g_assert_cmpstr(empty, ==,
			"earlycon=uart8250,io,0x3f8,115200 console=hvc0 sepia.logcat=hvc2 "
			"sepia.control=hvc3");
}

static void test_capped_log(void)
{
	g_autofree char *dir = g_dir_make_tmp("sepia-log-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "kernel.log", NULL);
	g_autofree char *old_path = g_build_filename(dir, "kernel.log.1", NULL);
	g_assert_true(g_file_set_contents(path, "earlier boot\n", -1, NULL)); /* 13 bytes count */
	g_autoptr(GError) err = NULL;
	mode_t old = umask(022);
	CappedLog *log = capped_log_open(path, 1000, &err);
	umask(old);
	g_assert_no_error(err);
	/* What a guest prints: 5000 bytes in chunks of every size, one of them past the cap alone. */
	g_autoptr(GString) all = g_string_new("earlier boot\n");
	guint sizes[] = { 1, 500, 486, 1, 2500, 7, 999, 506 };
	guint32 seed = 1;
	for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
		g_autoptr(GString) chunk = g_string_new(NULL);
		for (guint k = 0; k < sizes[i]; k++) {
			seed = seed * 1103515245u + 12345u;
			g_string_append_c(chunk, (char)('a' + (seed >> 16) % 26));
		}
		g_assert_true(capped_log_write(log, chunk->str, chunk->len, &err));
		g_assert_no_error(err);
		g_string_append_len(all, chunk->str, (gssize)chunk->len);
		/* Never past the cap, on disk, after any write. */
		struct stat st;
		g_assert_cmpint(stat(path, &st), ==, 0);
		g_assert_cmpint(st.st_size, <=, 1000);
	}
	g_assert_cmpuint(all->len, ==, 5013);
	g_assert_cmpuint(capped_log_rotations(log), ==, 5);
	capped_log_free(log);
	g_autofree char *cur = read_file(path), *prev = read_file(old_path);
	/* The newest output is in kernel.log, the part before it in kernel.log.1, nothing between. */
	g_assert_cmpuint(strlen(prev), ==, 1000);
	g_autofree char *both = g_strconcat(prev, cur, NULL);
	g_assert_true(g_str_has_suffix(all->str, both));
	g_assert_cmpuint(strlen(cur), ==, 13);
	g_assert_cmpuint(mode_of(path), ==, 0640);
	/* Opened again, its size counts against the cap. */
	log = capped_log_open(path, 20, &err);
	g_assert_true(capped_log_write(log, "0123456789", 10, &err));
	g_assert_cmpuint(capped_log_rotations(log), ==, 1);
	capped_log_free(log);
	g_autofree char *again = read_file(path);
	g_assert_cmpstr(again, ==, "789");
	g_autofree char *again_old = read_file(old_path);
	g_assert_true(g_str_has_suffix(again_old, "0123456"));
	g_assert_cmpuint(strlen(again_old), ==, 20);
	g_assert_true(launcher_remove_tree(dir, NULL));
}

/* --listen_address: dotted IPv4 only (hostile text refused with the flag named); the serial a
 * local client uses is the address itself, or loopback for the wildcard. */
static void test_listen_address(void)
{
	const char *good[] = { "127.0.0.1", "0.0.0.0", "10.1.2.3" };
	for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
		g_autoptr(GError) err = NULL;
		g_assert_true(launcher_check_listen_address(good[i], &err));
		g_assert_no_error(err);
	}
	const char *bad[] = { "",          "localhost",  "::1",         "127.0.0.1:6520",    "1.2.3",
			      "256.1.1.1", " 127.0.0.1", "127.0.0.1\n", "0.0.0.0; rm -rf /", NULL };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		g_assert_false(launcher_check_listen_address(bad[i], &err));
		g_assert_nonnull(err);
		g_assert_true(strstr(err->message, "--listen_address=") != NULL);
	}
	g_assert_cmpstr(launcher_client_address("0.0.0.0"), ==, "127.0.0.1");
	g_assert_cmpstr(launcher_client_address("127.0.0.1"), ==, "127.0.0.1");
	g_assert_cmpstr(launcher_client_address("10.1.2.3"), ==, "10.1.2.3");
	g_assert_cmpstr(LAUNCHER_DEFAULT_LISTEN_ADDRESS, ==, "127.0.0.1");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/launcher/flags/forms", test_flags_forms);
	g_test_add_func("/launcher/flags/errors", test_flags_errors);
	g_test_add_func("/launcher/instances/select", test_instances);
	g_test_add_func("/launcher/instances/paths", test_instance_paths);
	g_test_add_func("/launcher/control/framing", test_framing);
	g_test_add_func("/launcher/control/no-monitor", test_no_monitor);
	g_test_add_func("/launcher/control/status-json", test_status_json);
	g_test_add_func("/launcher/instances/lock", test_instance_lock);
	g_test_add_func("/launcher/file-modes/restricted-mode", test_restricted_mode);
	g_test_add_func("/launcher/file-modes/restrict-tree", test_restrict_tree);
	g_test_add_func("/launcher/control/peer-check", test_peer_check);
	g_test_add_func("/launcher/control/server-silent-clients", test_server_silent_clients);
	g_test_add_func("/launcher/capped-log/rotation", test_capped_log);
	g_test_add_func("/launcher/vmm/kernel-cmdline", test_kernel_cmdline);
	g_test_add_func("/launcher/instances/listen-address", test_listen_address);
	g_test_add_func("/launcher/suspend/refusals", test_suspend_refusals);
	return g_test_run();
}
