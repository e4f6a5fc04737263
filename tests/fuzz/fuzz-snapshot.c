/* libFuzzer target for sepia-vmm's snapshot state parser (devices/snapshot.c) and a device
 * loader behind it (the PCI bus's, devices/pci.c). Each input is tried twice: as a whole
 * state file (the checksum refuses nearly all of them, which must never crash), and as the
 * payload of a file with a valid header and checksum, so that the section table, the
 * readers and the PCI loader see hostile bytes that pass the checksum. A refusal must come
 * with an error naming the snapshot. */
#include "fuzz-common.h"

#include "devices/host.h"
#include "devices/pci.h"
#include "devices/snapshot.h"

static void fake_read(void *opaque, uint64_t offset, void *data, unsigned int len) { memset(data, 0, len); }
static void fake_write(void *opaque, uint64_t offset, const void *data, unsigned int len) {}

/* Reads a section in every width until it runs out: the reader must stay in bounds. */
static void walk_section(const struct snap_section *s)
{
	struct snap_reader r;
	snap_reader_init(&r, s);
	size_t len;
	uint8_t buf[64];
	for (unsigned int i = 0; !r.failed; i++) {
		switch (i % 6) {
		case 0:
			snap_get_u8(&r);
			break;
		case 1:
			snap_get_u16(&r);
			break;
		case 2:
			snap_get_u32(&r);
			break;
		case 3:
			snap_get_u64(&r);
			break;
		case 4:
			snap_get_blob_ref(&r, 1 << 20, &len);
			break;
		default:
			snap_get_blob(&r, buf, sizeof(buf));
			break;
		}
	}
	GError *error = NULL;
	if (snap_reader_done(&r, &error))
		abort();
	fuzz_expect_error_naming(&error, "snapshot");
}

/* The PCI bus of a machine with one 64-bit BAR device loads the "pci" section. */
static void load_pci(const struct snap_file *f)
{
	const struct snap_section *s = snap_file_find(f, "pci");
	if (!s)
		return;
	struct vm_host host;
	GError *error = NULL;
	vm_host_init(&host, -1);
	struct pci_bus *bus = pci_bus_create(&host, &error);
	struct pci_device *dev = pci_device_add(bus, "fuzz-dev", 0x1af4, 0x1041, 0x018000, 0x1af4, 0x1041, 1,
						&error);
	if (!dev || !pci_device_add_bar64(dev, 0, 0x4000, fake_read, fake_write, NULL, &error))
		abort();
	struct vm_state *st = &g_array_index(host.states, struct vm_state, 0);
	struct snap_reader r;
	snap_reader_init(&r, s);
	if (!st->load(st->opaque, &r, &error))
		fuzz_expect_error_naming(&error, "snapshot");
	g_clear_error(&error);
	pci_bus_destroy(bus);
	vm_host_fini(&host);
}

static void try_file(GBytes *bytes)
{
	GError *error = NULL;
	struct snap_file *f = snap_file_parse(bytes, "fuzz-state", &error);
	if (!f) {
		fuzz_expect_error_naming(&error, "fuzz-state");
		return;
	}
	for (guint i = 0; i < f->sections->len; i++)
		walk_section(&g_array_index(f->sections, struct snap_section, i));
	if (!snap_file_check_identity(f, "fuzz-state", "0", "cpus=1", &error))
		fuzz_expect_error_naming(&error, "fuzz-state");
	g_free(snap_file_string(f, "machine"));
	load_pci(f);
	snap_file_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GBytes) raw = g_bytes_new(data, size);
	try_file(raw);
	/* The same bytes as the payload of a well-formed file. */
	uint8_t header[SNAP_HEADER_SIZE];
	memcpy(header, SNAP_MAGIC, 8);
	uint32_t version = GUINT32_TO_LE(SNAP_FORMAT_VERSION), flags = 0;
	uint64_t len = GUINT64_TO_LE((uint64_t)size);
	memcpy(header + 8, &version, 4);
	memcpy(header + 12, &flags, 4);
	memcpy(header + 16, &len, 8);
	g_autoptr(GChecksum) sum = g_checksum_new(G_CHECKSUM_SHA256);
	g_checksum_update(sum, data, size);
	gsize n = 32;
	g_checksum_get_digest(sum, header + 24, &n);
	g_autoptr(GByteArray) file = g_byte_array_sized_new((guint)(sizeof(header) + size));
	g_byte_array_append(file, header, sizeof(header));
	g_byte_array_append(file, data, (guint)size);
	g_autoptr(GBytes) wrapped = g_bytes_new(file->data, file->len);
	try_file(wrapped);
	return 0;
}
