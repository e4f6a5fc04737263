/* Unit tests for the launcher's shared parts: Cuttlefish-style flags, instance selection, the
 * control protocol's framing and the status JSON. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/control.h"
#include "common/flags.h"
#include "launcher/select.h"
#include "launcher/instance.h"

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
	return g_test_run();
}
