/* libFuzzer target: sparse image expansion. Validates every input (no output); inputs that
 * expand to at most 1 MiB are also expanded into a memfd whose size must then be raw_size. */
#include "images/sparse.h"
#include "tests/fuzz/fuzz-common.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GError *error = NULL;
	SepiaSparseInfo info;
	if (!sepia_sparse_expand_buffer(data, size, "fuzz.img", -1, 0, &info, &error)) {
		fuzz_expect_refusal(&error, "fuzz.img: ");
		return 0;
	}
	if (info.raw_size > (1u << 20))
		return 0;
	int fd = memfd_create("fuzz-sparse", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	SepiaSparseInfo again;
	if (!sepia_sparse_expand_buffer(data, size, "fuzz.img", fd, 1u << 20, &again, &error))
		abort(); /* valid once, valid twice */
	struct stat st;
	if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != info.raw_size ||
	    again.data_bytes + again.hole_bytes != info.raw_size)
		abort();
	close(fd);
	return 0;
}
