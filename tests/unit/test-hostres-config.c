/* sepia-host-resources' settings file and its NAT ruleset (no root, no links). */
#include <glib.h>
#include <string.h>

#include "net/hostres_config.h"
#include "net/hostres_link.h"
#include "net/hostres_services.h"

static void test_defaults(void)
{
	HostresConfig c;
	hostres_config_init(&c);
	g_assert_cmpuint(c.num_accounts, ==, 10);
	g_assert_true(c.ethernet_bridge);
	g_assert_true(c.wifi_bridge);
	g_assert_cmpuint(g_strv_length(c.dns_servers), ==, 2);
	g_assert_null(c.bridge_interface);
	g_assert_cmpstr(c.tap_group, ==, "cvdnetwork");
	hostres_config_clear(&c);
}

static void test_shell_syntax(void)
{
	HostresConfig c;
	hostres_config_init(&c);
	g_autoptr(GError) error = NULL;
	const char *text = "# sepia\n"
			   "num_cvd_accounts=4\n"
			   "  export wifi_bridge='no'   # comment\n"
			   "ethernet_bridge=\"yes\"\n"
			   "dns_servers=\"1.1.1.1, 9.9.9.9 2001:4860:4860::8888\"\n"
			   "bridge_interface=br0\n"
			   "cvd_group=\n"
			   "\n";
	g_assert_true(hostres_config_parse(&c, text, "f", &error));
	g_assert_no_error(error);
	g_assert_cmpuint(c.num_accounts, ==, 4);
	g_assert_false(c.wifi_bridge);
	g_assert_true(c.ethernet_bridge);
	g_assert_cmpuint(g_strv_length(c.dns_servers), ==, 3);
	g_assert_cmpstr(c.dns_servers[0], ==, "1.1.1.1");
	g_assert_cmpstr(c.dns_servers[2], ==, "2001:4860:4860::8888");
	g_assert_cmpstr(c.bridge_interface, ==, "br0");
	g_assert_null(c.tap_group);
	hostres_config_clear(&c);
}

static void expect_error(const char *text, const char *message)
{
	HostresConfig c;
	hostres_config_init(&c);
	g_autoptr(GError) error = NULL;
	g_assert_false(hostres_config_parse(&c, text, "cfg", &error));
	g_assert_nonnull(error);
	g_assert_cmpstr(error->message, ==, message);
	hostres_config_clear(&c);
}

static void test_errors(void)
{
	expect_error("num_cvd_accounts=0\n", "cfg line 1: num_cvd_accounts: '0' is not a number in 1..64");
	expect_error("\nnum_cvd_accounts=65\n",
		     "cfg line 2: num_cvd_accounts: '65' is not a number in 1..64");
	expect_error("wifi_bridge=maybe\n",
		     "cfg line 1: wifi_bridge: 'maybe' is not one of 1/0, yes/no, true/false, on/off");
	expect_error("dns_servers=dns.google\n",
		     "cfg line 1: dns_servers: 'dns.google' is not an IP address");
	expect_error("dns_servers=\"8.8.8.8\n", "cfg line 1: dns_servers: unterminated quote");
	expect_error("dns_servers=8.8.8.8 8.8.4.4\n",
		     "cfg line 1: dns_servers: text after the value (quote values with blanks)");
	expect_error("just words\n", "cfg line 1: expected KEY=value");
	expect_error("bridge_interface=a-very-long-bridge-name\n",
		     "cfg line 1: bridge_interface: 'a-very-long-bridge-name' is longer than an interface "
		     "name can be");
}

static void test_missing_file(void)
{
	HostresConfig c;
	hostres_config_init(&c);
	g_autoptr(GError) error = NULL;
	g_assert_true(hostres_config_load(&c, "/nonexistent/sepia-host-resources", FALSE, &error));
	g_assert_false(hostres_config_load(&c, "/nonexistent/sepia-host-resources", TRUE, &error));
	g_assert_nonnull(strstr(error->message, "/nonexistent/sepia-host-resources"));
	hostres_config_clear(&c);
}

static void test_tap_names(void)
{
	g_assert_true(hostres_is_tap_name("cvd-etap-01"));
	g_assert_true(hostres_is_tap_name("cvd-wtap-10"));
	g_assert_true(hostres_is_tap_name("cvd-mtap-64"));
	g_assert_false(hostres_is_tap_name("cvd-ebr"));
	g_assert_false(hostres_is_tap_name("cvd-xtap-01"));
	g_assert_false(hostres_is_tap_name("cvd-etap-1"));
	g_assert_false(hostres_is_tap_name("cvd-etap-001"));
}

static void test_nat_ruleset(void)
{
	g_autofree gchar *rules = hostres_nat_ruleset();
	/* Replaced as a whole on every start: add + flush before the definition. */
	g_assert_true(g_str_has_prefix(rules, "add table ip sepia\nflush table ip sepia\n"));
	g_assert_nonnull(strstr(rules, "type nat hook postrouting priority srcnat"));
	g_assert_nonnull(strstr(rules, "ip saddr 192.168.96.0/22 oifname != \"cvd-*\" masquerade"));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/hostres/config/defaults", test_defaults);
	g_test_add_func("/hostres/config/shell-syntax", test_shell_syntax);
	g_test_add_func("/hostres/config/errors", test_errors);
	g_test_add_func("/hostres/config/missing-file", test_missing_file);
	g_test_add_func("/hostres/tap-names", test_tap_names);
	g_test_add_func("/hostres/nat-ruleset", test_nat_ruleset);
	return g_test_run();
}
