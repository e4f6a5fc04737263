/* gpu-clear3d: the reference guest's 3D (virgl) test tool (static, in the initramfs).
 *
 *   gpu-clear3d [--device PATH] [--size N] [--bgra] [R G B A]
 *
 * Through the virtio-gpu DRM interface it checks that the host renders: it
 * asks for 3D support (VIRTGPU_PARAM_3D_FEATURES), reads the virgl capability
 * set, creates an N x N (default 64) 2D texture that can be a render target,
 * sends a virgl command stream that makes a surface on it, binds that as the
 * framebuffer's colour buffer 0 and clears it to R G B A (floats 0..1, default
 * 0.2 0.4 0.6 1.0), copies the texture back (TRANSFER_FROM_HOST), waits, maps
 * it and checks every pixel. It prints
 *
 *   gpu-clear3d: 64x64 rgba 51 102 153 255 ok
 *
 * and exits 0, or names the first pixel that differs and exits 1. Without 3D
 * support it says why and exits 2; other failures name the step, status 1.
 * --bgra renders to a B8G8R8A8 texture instead of R8G8B8A8 (pixels are
 * reported as r g b a either way).
 */
#include <drm/drm.h>
#include <drm/virtgpu_drm.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROG "gpu-clear3d"
#include "drm-util.h"

/* ---- virgl protocol facts ---------------------------------------------------
 * From virglrenderer's src/virgl_protocol.h and src/virgl_hw.h (the same
 * numbers are in Mesa's src/virtio/virtio-gpu/virgl_protocol.h and virgl_hw.h,
 * used by its virgl winsys) and Gallium's p_defines.h. The command stream is a
 * sequence of little-endian dwords; each command starts with a header dword
 *   cmd | object_type << 8 | payload_length_in_dwords << 16.
 */
#define VIRGL_CCMD_CREATE_OBJECT         1 /* enum virgl_context_cmd */
#define VIRGL_CCMD_SET_FRAMEBUFFER_STATE 5
#define VIRGL_CCMD_CLEAR                 7
#define VIRGL_OBJECT_SURFACE             8 /* enum virgl_object_type */

/* CREATE_OBJECT(SURFACE): handle, resource, format, texture level,
 * texture layers (first | last << 16). */
#define VIRGL_OBJ_SURFACE_SIZE 5
/* SET_FRAMEBUFFER_STATE: nr_cbufs, zsurf handle, one handle per cbuf. */
#define VIRGL_SET_FRAMEBUFFER_STATE_SIZE(nr_cbufs) ((nr_cbufs) + 2)
/* CLEAR: buffers, colour as 4 floats, depth as a double (2 dwords), stencil. */
#define VIRGL_OBJ_CLEAR_SIZE 8
#define PIPE_CLEAR_COLOR0    (1u << 2) /* p_defines.h: DEPTH 1<<0, STENCIL 1<<1 */

#define PIPE_TEXTURE_2D             2 /* enum pipe_texture_target */
#define VIRGL_FORMAT_B8G8R8A8_UNORM 1 /* enum virgl_formats */
#define VIRGL_FORMAT_R8G8B8A8_UNORM 67
#define VIRGL_BIND_RENDER_TARGET    (1u << 1)

/* virtio-gpu capability set ids (virtio spec, VIRTIO_GPU_CAPSET_*). */
#define VIRTIO_GPU_CAPSET_VIRGL  1
#define VIRTIO_GPU_CAPSET_VIRGL2 2

static uint32_t virgl_cmd_header(uint32_t cmd, uint32_t object_type, uint32_t length)
{
	return cmd | object_type << 8 | length << 16;
}

struct virgl_stream {
	uint32_t dwords[64];
	unsigned int count;
};

static void emit(struct virgl_stream *s, uint32_t dword)
{
	if (s->count < sizeof(s->dwords) / sizeof(s->dwords[0]))
		s->dwords[s->count++] = dword;
}

static void emit_float(struct virgl_stream *s, float value)
{
	uint32_t bits;
	memcpy(&bits, &value, sizeof(bits));
	emit(s, bits);
}

/* Surface `surface` on texture `resource`, framebuffer = that surface as
 * colour buffer 0, clear colour buffer 0 to rgba. Object handles belong to the
 * context's default sub-context (0), which virglrenderer creates with the
 * context. */
static void encode_clear(struct virgl_stream *s, uint32_t surface, uint32_t resource, uint32_t format,
			 const float rgba[4])
{
	double depth = 0.0;
	uint32_t depth_dwords[2];

	emit(s, virgl_cmd_header(VIRGL_CCMD_CREATE_OBJECT, VIRGL_OBJECT_SURFACE, VIRGL_OBJ_SURFACE_SIZE));
	emit(s, surface);
	emit(s, resource);
	emit(s, format);
	emit(s, 0); /* texture level */
	emit(s, 0); /* layers: first 0, last 0 */

	emit(s, virgl_cmd_header(VIRGL_CCMD_SET_FRAMEBUFFER_STATE, 0, VIRGL_SET_FRAMEBUFFER_STATE_SIZE(1)));
	emit(s, 1);       /* nr_cbufs */
	emit(s, 0);       /* no depth/stencil surface */
	emit(s, surface); /* cbuf 0 */

	emit(s, virgl_cmd_header(VIRGL_CCMD_CLEAR, 0, VIRGL_OBJ_CLEAR_SIZE));
	emit(s, PIPE_CLEAR_COLOR0);
	for (int i = 0; i < 4; i++)
		emit_float(s, rgba[i]);
	memcpy(depth_dwords, &depth, sizeof(depth_dwords));
	emit(s, depth_dwords[0]);
	emit(s, depth_dwords[1]);
	emit(s, 0); /* stencil */
}

/* ---- DRM ------------------------------------------------------------------------ */

/* Reads the virgl capability set (v2, else v1) to show the host answers;
 * prints its id, size and the max_version field that starts both layouts. */
static int read_virgl_caps(int fd)
{
	static uint32_t caps[1024];
	static const uint32_t ids[] = { VIRTIO_GPU_CAPSET_VIRGL2, VIRTIO_GPU_CAPSET_VIRGL };
	int err = 0;

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct drm_virtgpu_get_caps get = {
			.cap_set_id = ids[i],
			.cap_set_ver = 0,
			.addr = (uintptr_t)caps,
			.size = sizeof(caps),
		};
		memset(caps, 0, sizeof(caps));
		if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_GET_CAPS, &get)) == 0) {
			printf(PROG ": virgl capset %u: max_version %u\n", ids[i], caps[0]);
			return 0;
		}
	}
	return fail("DRM_IOCTL_VIRTGPU_GET_CAPS (virgl capsets 2 and 1)", err);
}

static int parse_unit_float(const char *text, float *out)
{
	char *end;
	errno = 0;
	float v = strtof(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= 0.0f && v <= 1.0f))
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *to)
{
	fprintf(to, "usage: " PROG " [--device PATH] [--size N] [--bgra] [R G B A]\n"
		    "  R G B A: clear colour, floats in 0..1 (default 0.2 0.4 0.6 1.0)\n");
}

int main(int argc, char **argv)
{
	const char *device = "/dev/dri/card0";
	float rgba[4] = { 0.2f, 0.4f, 0.6f, 1.0f };
	uint32_t size = 64, format = VIRGL_FORMAT_R8G8B8A8_UNORM;
	int ncolour = 0, err, fd;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			device = argv[++i];
		} else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) {
			size = (uint32_t)strtoul(argv[++i], NULL, 0);
			if (size == 0 || size > 4096) {
				fprintf(stderr, PROG ": --size %s: give 1..4096\n", argv[i]);
				return 2;
			}
		} else if (strcmp(argv[i], "--bgra") == 0) {
			format = VIRGL_FORMAT_B8G8R8A8_UNORM;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (ncolour < 4 && parse_unit_float(argv[i], &rgba[ncolour]) == 0) {
			ncolour++;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (ncolour != 0 && ncolour != 4) {
		usage(stderr);
		return 2;
	}

	fd = drm_open(device);
	if (fd < 0)
		return 1;

	uint64_t has_3d = 0;
	struct drm_virtgpu_getparam param = {
		.param = VIRTGPU_PARAM_3D_FEATURES,
		.value = (uintptr_t)&has_3d,
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_GETPARAM, &param)) < 0) {
		fprintf(stderr,
			PROG ": DRM_IOCTL_VIRTGPU_GETPARAM(3D_FEATURES) on %s: %s "
			     "(not a virtio-gpu device?)\n",
			device, strerror(-err));
		return 2;
	}
	if (has_3d != 1) {
		fprintf(stderr,
			PROG ": %s has no 3D features (VIRTGPU_PARAM_3D_FEATURES = %llu): "
			     "the host's virtio-gpu runs without virgl\n",
			device, (unsigned long long)has_3d);
		return 2;
	}
	if (read_virgl_caps(fd) != 0)
		return 1;

	uint32_t stride = size * 4, bytes = stride * size;
	struct drm_virtgpu_resource_create create = {
		.target = PIPE_TEXTURE_2D,
		.format = format,
		.bind = VIRGL_BIND_RENDER_TARGET,
		.width = size,
		.height = size,
		.depth = 1,
		.array_size = 1,
		.last_level = 0,
		.nr_samples = 0,
		.size = bytes,
		.stride = stride,
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_RESOURCE_CREATE, &create)) < 0)
		return fail("DRM_IOCTL_VIRTGPU_RESOURCE_CREATE (2D texture, render target)", err);

	struct virgl_stream stream = { .count = 0 };
	encode_clear(&stream, 1, create.res_handle, format, rgba);
	uint32_t bo = create.bo_handle;
	struct drm_virtgpu_execbuffer exec = {
		.size = stream.count * 4,
		.command = (uintptr_t)stream.dwords,
		.bo_handles = (uintptr_t)&bo,
		.num_bo_handles = 1,
		.fence_fd = -1,
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_EXECBUFFER, &exec)) < 0)
		return fail("DRM_IOCTL_VIRTGPU_EXECBUFFER (surface, framebuffer, clear)", err);

	struct drm_virtgpu_3d_transfer_from_host transfer = {
		.bo_handle = bo,
		.box = { .x = 0, .y = 0, .z = 0, .w = size, .h = size, .d = 1 },
		.level = 0,
	};
	if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST, &transfer)) < 0)
		return fail("DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST", err);

	/* The kernel waits up to 15 s per call and says EBUSY after that. */
	struct drm_virtgpu_3d_wait wait = { .handle = bo };
	for (int tries = 0;; tries++) {
		err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_WAIT, &wait);
		if (err != -EBUSY || tries == 8)
			break;
	}
	if (err < 0)
		return fail("DRM_IOCTL_VIRTGPU_WAIT (for the transfer)", err);

	struct drm_virtgpu_map map = { .handle = bo };
	if ((err = drm_ioctl(fd, DRM_IOCTL_VIRTGPU_MAP, &map)) < 0)
		return fail("DRM_IOCTL_VIRTGPU_MAP", err);
	const uint8_t *pixels = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, (off_t)map.offset);
	if (pixels == MAP_FAILED)
		return fail("mmap of the texture", -errno);

	/* Bytes of one pixel in memory, and which of them is r, g, b, a. */
	static const int rgba_order[4] = { 0, 1, 2, 3 }, bgra_order[4] = { 2, 1, 0, 3 };
	const int *order = format == VIRGL_FORMAT_B8G8R8A8_UNORM ? bgra_order : rgba_order;
	int want[4];
	for (int c = 0; c < 4; c++)
		want[c] = (int)(rgba[c] * 255.0f + 0.5f);
	for (uint32_t y = 0; y < size; y++)
		for (uint32_t x = 0; x < size; x++) {
			const uint8_t *p = pixels + (size_t)y * stride + (size_t)x * 4;
			int got[4];
			int ok = 1;
			for (int c = 0; c < 4; c++) {
				got[c] = p[order[c]];
				/* Exact, except that a value halfway between two
				 * bytes may round either way. */
				float diff = (float)got[c] - rgba[c] * 255.0f;
				if (diff > 0.501f || diff < -0.501f)
					ok = 0;
			}
			if (!ok) {
				printf(PROG ": %ux%u pixel (%u,%u) is rgba %d %d %d %d, want %d %d %d %d\n",
				       size, size, x, y, got[0], got[1], got[2], got[3], want[0], want[1],
				       want[2], want[3]);
				return 1;
			}
		}
	printf(PROG ": %ux%u rgba %d %d %d %d ok\n", size, size, want[0], want[1], want[2], want[3]);
	return 0;
}
