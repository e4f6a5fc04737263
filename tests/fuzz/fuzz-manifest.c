/* libFuzzer target for the manifest's hash cache (images/manifest.c): the input is the bytes
 * of manifest.cache, the GKeyFile that manifest_new loads. The target then adds two files it
 * created once, a boot input and an output, and renders the JSON.
 *
 * The two files live at fixed paths, /tmp/sepia-fuzz-manifest/{boot,out}.img, with fixed
 * mtimes, so a seed can hold cache entries that hit (their group names are the SHA-256 of
 * those paths; make-seeds.sh writes one in sepia's format). The cache is a memfd opened as
 * /proc/self/fd/N: rewriting it costs no disk I/O.
 *
 * Oracle: no crash or sanitizer report; each file's recorded sha256 is 64 lowercase hex digits
 * and is the file's real hash unless the cache supplied it (then it appears in the input);
 * manifest_rehashed counts at most the two files. */
#include "tests/fuzz/fuzz-common.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/manifest.h"

#define DIR "/tmp/sepia-fuzz-manifest"

static int cache_fd = -1;
static char cache_path[64];
static const char *const names[] = { DIR "/boot.img", DIR "/out.img" };
static char *real_sum[2];

static void setup(void)
{
	if (g_mkdir_with_parents(DIR, 0700) < 0)
		abort();
	static const char boot[] = "not a boot image\n";
	static char out[1000];
	memset(out, 'o', sizeof(out));
	const char *contents[] = { boot, out };
	const size_t sizes[] = { sizeof(boot) - 1, sizeof(out) };
	for (int i = 0; i < 2; i++) {
		if (!g_file_set_contents(names[i], contents[i], (gssize)sizes[i], NULL))
			abort();
		/* Fixed mtimes: 2023-11-14T22:13:20.123456789Z and one second later. */
		struct timespec t[2] = { { 1700000000 + i, 123456789 }, { 1700000000 + i, 123456789 } };
		if (utimensat(AT_FDCWD, names[i], t, 0) < 0)
			abort();
		real_sum[i] = manifest_sha256_file(names[i], NULL);
		if (!real_sum[i])
			abort();
	}
	cache_fd = memfd_create("manifest.cache", MFD_CLOEXEC);
	if (cache_fd < 0)
		abort();
	g_snprintf(cache_path, sizeof(cache_path), "/proc/self/fd/%d", cache_fd);
}

static bool is_hex64(const char *s)
{
	for (int i = 0; i < 64; i++)
		if (!g_ascii_isdigit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return false;
	return s[64] == '"';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (cache_fd < 0)
		setup();
	fuzz_rewrite_fd(cache_fd, data, size);
	g_autoptr(Manifest) m = manifest_new(cache_path);
	GError *error = NULL;
	if (!manifest_add_input(m, "boot", names[0], MANIFEST_IMAGE_BOOT, &error) ||
	    !manifest_add_output(m, "out", names[1], &error))
		abort();
	if (manifest_rehashed(m) > 2)
		abort();
	g_autofree char *json = manifest_to_json(m);
	const char *p = json;
	for (int i = 0; i < 2; i++) {
		p = strstr(p, "\"sha256\": \"");
		if (!p)
			abort();
		p += strlen("\"sha256\": \"");
		if (!is_hex64(p))
			abort();
		if (memcmp(p, real_sum[i], 64) && !memmem(data, size, p, 64))
			abort();
	}
	if (strstr(p, "\"sha256\""))
		abort();
	return 0;
}
