/* Unit tests of the snapshot state file (devices/snapshot.c) and of a device's state
 * round trip through it (the PCI bus, devices/pci.c, with no KVM): what is written reads
 * back the same; a file with any byte changed, cut short or of another version or machine
 * is refused with an error that says so. */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "common/error.h"
#include "devices/host.h"
#include "devices/layout.h"
#include "devices/pci.h"
#include "devices/snapshot.h"

static GBytes *sample_file(void)
{
	struct snap_writer w;
	snap_writer_init(&w);
	snap_put_string_section(&w, "sepia-version", "1.2.3");
	snap_put_string_section(&w, "machine", "cpus=1 mem_mib=64 parts=serial");
	snap_begin(&w, "serial");
	snap_put_u8(&w, 0xab);
	snap_put_u16(&w, 0xbeef);
	snap_put_u32(&w, 0xdeadbeef);
	snap_put_u64(&w, 0x0123456789abcdefULL);
	snap_put_blob(&w, "hello", 5);
	snap_end(&w);
	snap_begin(&w, "empty");
	snap_end(&w);
	GBytes *b = snap_writer_finish(&w);
	snap_writer_clear(&w);
	return b;
}

static void test_round_trip(void)
{
	g_autoptr(GBytes) b = sample_file();
	g_autoptr(GError) error = NULL;
	g_autoptr(snap_file) f = snap_file_parse(b, "sample", &error);
	g_assert_no_error(error);
	g_assert_cmpuint(f->sections->len, ==, 4);
	g_assert_true(
		snap_file_check_identity(f, "sample", "1.2.3", "cpus=1 mem_mib=64 parts=serial", &error));
	const struct snap_section *s = snap_file_find(f, "serial");
	g_assert_nonnull(s);
	struct snap_reader r;
	snap_reader_init(&r, s);
	g_assert_cmpuint(snap_get_u8(&r), ==, 0xab);
	g_assert_cmpuint(snap_get_u16(&r), ==, 0xbeef);
	g_assert_cmpuint(snap_get_u32(&r), ==, 0xdeadbeef);
	g_assert_cmpuint(snap_get_u64(&r), ==, 0x0123456789abcdefULL);
	char hello[5];
	g_assert_true(snap_get_blob(&r, hello, 5));
	g_assert_cmpmem(hello, 5, "hello", 5);
	g_assert_true(snap_reader_done(&r, &error));
	g_assert_no_error(error);
	s = snap_file_find(f, "empty");
	g_assert_nonnull(s);
	g_assert_cmpuint(s->len, ==, 0);
	g_assert_null(snap_file_find(f, "absent"));
}

/* A reader that runs past its section, or stops short of its end, fails once and says so. */
static void test_reader_bounds(void)
{
	g_autoptr(GBytes) b = sample_file();
	g_autoptr(snap_file) f = snap_file_parse(b, "sample", NULL);
	const struct snap_section *s = snap_file_find(f, "serial");
	struct snap_reader r;
	snap_reader_init(&r, s);
	snap_get_u8(&r);
	g_autoptr(GError) error = NULL;
	g_assert_false(snap_reader_done(&r, &error));
	g_assert_nonnull(strstr(error->message, "left over"));
	g_clear_error(&error);
	snap_reader_init(&r, s);
	for (int i = 0; i < 10; i++)
		snap_get_u64(&r);
	g_assert_true(r.failed);
	g_assert_false(snap_reader_done(&r, &error));
	g_assert_nonnull(strstr(error->message, "serial"));
	g_clear_error(&error);
	/* A blob whose length is not the one asked for fails. */
	snap_reader_init(&r, s);
	snap_get_bytes(&r, (uint8_t[15]){ 0 }, 15);
	char four[4];
	g_assert_false(snap_get_blob(&r, four, 4));
}

/* Every single changed byte anywhere in the file is refused: the header's fields are checked
 * and the checksum covers the rest. */
static void test_every_flip_refused(void)
{
	g_autoptr(GBytes) b = sample_file();
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	for (gsize i = 0; i < len; i++) {
		g_autofree uint8_t *copy = g_memdup2(p, len);
		copy[i] ^= 0x01;
		g_autoptr(GBytes) bad = g_bytes_new(copy, len);
		g_autoptr(GError) error = NULL;
		g_autoptr(snap_file) f = snap_file_parse(bad, "flipped", &error);
		if (f)
			g_error("a flip of byte %zu was not noticed", (size_t)i);
		g_assert_error(error, SEPIA_ERROR, EINVAL);
	}
}

static void test_every_truncation_refused(void)
{
	g_autoptr(GBytes) b = sample_file();
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	for (gsize cut = 0; cut < len; cut++) {
		g_autoptr(GBytes) bad = g_bytes_new(p, cut);
		g_autoptr(GError) error = NULL;
		g_autoptr(snap_file) f = snap_file_parse(bad, "cut", &error);
		g_assert_null(f);
		g_assert_nonnull(error);
	}
}

static void test_identity_mismatch(void)
{
	g_autoptr(GBytes) b = sample_file();
	g_autoptr(snap_file) f = snap_file_parse(b, "sample", NULL);
	g_autoptr(GError) error = NULL;
	g_assert_false(
		snap_file_check_identity(f, "sample", "9.9", "cpus=1 mem_mib=64 parts=serial", &error));
	g_assert_nonnull(strstr(error->message, "sepia 1.2.3"));
	g_clear_error(&error);
	g_assert_false(
		snap_file_check_identity(f, "sample", "1.2.3", "cpus=2 mem_mib=64 parts=serial", &error));
	g_assert_nonnull(strstr(error->message, "another machine"));
	g_assert_nonnull(strstr(error->message, "cpus=2"));
}

/* A file of a future format version is refused by its version, not as corrupt. */
static void test_other_version(void)
{
	g_autoptr(GBytes) b = sample_file();
	gsize len;
	const uint8_t *p = g_bytes_get_data(b, &len);
	g_autofree uint8_t *copy = g_memdup2(p, len);
	copy[8] = SNAP_FORMAT_VERSION + 1;
	g_autoptr(GBytes) bad = g_bytes_new(copy, len);
	g_autoptr(GError) error = NULL;
	g_assert_null(snap_file_parse(bad, "future", &error));
	g_assert_nonnull(strstr(error->message, "format version"));
}

/* Two sections of one name would make a restore ambiguous. */
static void test_duplicate_section_refused(void)
{
	struct snap_writer w;
	snap_writer_init(&w);
	snap_put_string_section(&w, "serial", "a");
	snap_put_string_section(&w, "serial", "b");
	g_autoptr(GBytes) b = snap_writer_finish(&w);
	snap_writer_clear(&w);
	g_autoptr(GError) error = NULL;
	g_assert_null(snap_file_parse(b, "dup", &error));
	g_assert_nonnull(strstr(error->message, "twice"));
}

/* ---- a device's state round trip: the PCI bus ---- */

struct fakedev {
	unsigned int moves;
	uint64_t moved_to;
};

static void fake_read(void *opaque, uint64_t offset, void *data, unsigned int len) { memset(data, 0, len); }
static void fake_write(void *opaque, uint64_t offset, const void *data, unsigned int len) {}

static void fake_bar_moved(struct pci_device *dev, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct fakedev *d = dev->opaque;
	d->moves++;
	d->moved_to = new_addr;
}

struct machine {
	struct vm_host host;
	struct pci_bus *pci;
	struct pci_device *dev;
	struct fakedev fake;
};

static void machine_build(struct machine *m)
{
	GError *error = NULL;
	memset(m, 0, sizeof(*m));
	vm_host_init(&m->host, -1);
	m->pci = pci_bus_create(&m->host, &error);
	g_assert_no_error(error);
	m->dev = pci_device_add(m->pci, "fake", 0x1af4, 0x1041, 0x018000, 0x1af4, 0x1041, 1, &error);
	g_assert_no_error(error);
	m->dev->opaque = &m->fake;
	m->dev->bar_moved = fake_bar_moved;
	g_assert_true(pci_device_add_bar64(m->dev, 0, 0x4000, fake_read, fake_write, m, &error));
}

static void machine_free(struct machine *m)
{
	pci_bus_destroy(m->pci);
	vm_host_fini(&m->host);
}

static GBytes *machine_save(struct machine *m)
{
	struct snap_writer w;
	snap_writer_init(&w);
	for (guint i = 0; i < m->host.states->len; i++) {
		struct vm_state *st = &g_array_index(m->host.states, struct vm_state, i);
		snap_begin(&w, st->name);
		g_assert_true(st->save(st->opaque, &w, NULL));
		snap_end(&w);
	}
	GBytes *b = snap_writer_finish(&w);
	snap_writer_clear(&w);
	return b;
}

static bool machine_load(struct machine *m, GBytes *b, GError **error)
{
	g_autoptr(snap_file) f = snap_file_parse(b, "machine", error);
	if (!f)
		return false;
	for (guint i = 0; i < m->host.states->len; i++) {
		struct vm_state *st = &g_array_index(m->host.states, struct vm_state, i);
		const struct snap_section *s = snap_file_find(f, st->name);
		g_assert_nonnull(s);
		struct snap_reader r;
		snap_reader_init(&r, s);
		if (!st->load(st->opaque, &r, error))
			return false;
	}
	return true;
}

static void test_pci_round_trip(void)
{
	struct machine a, b;
	machine_build(&a);
	machine_build(&b);
	/* The guest moves BAR0 and enables decoding in machine a. */
	uint64_t new_base = 0xd0000000;
	pci_config_write(a.dev, PCI_BAR0, (uint32_t)new_base | 0x4, 4);
	pci_config_write(a.dev, PCI_BAR0 + 4, 0, 4);
	pci_config_write(a.dev, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	g_assert_cmpuint(a.dev->bar[0].addr, ==, new_base);
	/* The status register changes at run time (an INTx pending): not part of the identity. */
	a.dev->config[PCI_STATUS] |= 0x08;
	a.pci->config_address = 0x80000810;
	g_autoptr(GBytes) state = machine_save(&a);
	g_autoptr(GError) error = NULL;
	g_assert_true(machine_load(&b, state, &error));
	g_assert_no_error(error);
	g_assert_cmpmem(b.dev->config, sizeof(b.dev->config), a.dev->config, sizeof(a.dev->config));
	g_assert_cmpuint(b.pci->config_address, ==, 0x80000810);
	g_assert_cmpuint(b.dev->bar[0].addr, ==, new_base);
	g_assert_cmpuint(b.fake.moves, ==, 1);
	g_assert_cmpuint(b.fake.moved_to, ==, new_base);
	/* The BAR answers at its new place on b's MMIO bus. */
	uint32_t v;
	g_assert_true(bus_read(&b.host.mmio, new_base, &v, 4));
	machine_free(&a);
	machine_free(&b);
}

/* A snapshot of another device in the slot is refused, naming the device. */
static void test_pci_other_device_refused(void)
{
	struct machine a, b;
	machine_build(&a);
	machine_build(&b);
	uint16_t other = 0x1042;
	memcpy(a.dev->config + PCI_DEVICE_ID, &other, 2);
	g_autoptr(GBytes) state = machine_save(&a);
	g_autoptr(GError) error = NULL;
	g_assert_false(machine_load(&b, state, &error));
	g_assert_nonnull(strstr(error->message, "fake"));
	machine_free(&a);
	machine_free(&b);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/snapshot/round-trip", test_round_trip);
	g_test_add_func("/snapshot/reader-bounds", test_reader_bounds);
	g_test_add_func("/snapshot/every-flip-refused", test_every_flip_refused);
	g_test_add_func("/snapshot/every-truncation-refused", test_every_truncation_refused);
	g_test_add_func("/snapshot/identity-mismatch", test_identity_mismatch);
	g_test_add_func("/snapshot/other-version", test_other_version);
	g_test_add_func("/snapshot/duplicate-section-refused", test_duplicate_section_refused);
	g_test_add_func("/snapshot/pci-round-trip", test_pci_round_trip);
	g_test_add_func("/snapshot/pci-other-device-refused", test_pci_other_device_refused);
	return g_test_run();
}
