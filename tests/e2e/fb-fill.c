/* tests/e2e/fb-fill — writes a scanout file as sepia-vmm does, for the display tools' tests.
 *
 *   fb-fill PATH MAXWxMAXH PICTURE [PICTURE...]
 *   PICTURE: WxH:SEED (enabled), WxH:SEED:off (disabled), or 0x0 (nothing shown)
 *
 * Creates (or replaces, as a new VMM does) PATH and publishes the first picture; then, for
 * each further one, waits for a line on stdin and publishes it, printing "frame N" after
 * each. Pixel (x, y) of picture SEED is R = (3x + 50 SEED) mod 256, G = (3y + 80 SEED) mod 256,
 * B = (2(x + y) + 110 SEED) mod 256; tests/e2e/display-check.py knows the same formula. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "display/framebuffer.h"

static int publish(struct fb_file *fb, const char *spec)
{
	unsigned int w, h, seed = 0;
	char state[8] = "";
	int n = sscanf(spec, "%ux%u:%u:%7s", &w, &h, &seed, state);
	if (n < 2 || (n == 2 && (w || h)) || (n == 4 && strcmp(state, "off"))) {
		fprintf(stderr, "fb-fill: bad picture '%s' (WxH:SEED[:off] or 0x0)\n", spec);
		return -1;
	}
	uint8_t *px = fb_file_begin(fb, w, h, n == 3);
	for (unsigned int y = 0; y < h; y++)
		for (unsigned int x = 0; x < w; x++) {
			uint8_t *p = px + ((size_t)y * w + x) * 4;
			p[0] = (uint8_t)(2 * (x + y) + 110 * seed);
			p[1] = (uint8_t)(3 * y + 80 * seed);
			p[2] = (uint8_t)(3 * x + 50 * seed);
			p[3] = 0xa5; /* X: must not matter */
		}
	fb_file_end(fb);
	printf("frame %llu\n", (unsigned long long)fb_file_frames(fb));
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int mw, mh;
	if (argc < 4 || sscanf(argv[2], "%ux%u", &mw, &mh) != 2) {
		fprintf(stderr, "usage: fb-fill PATH MAXWxMAXH PICTURE [PICTURE...]\n");
		return 2;
	}
	GError *err = NULL;
	struct fb_file *fb = fb_file_create(argv[1], mw, mh, 160, &err);
	if (!fb) {
		fprintf(stderr, "fb-fill: %s\n", err->message);
		g_error_free(err);
		return 1;
	}
	int status = publish(fb, argv[3]) ? 2 : 0;
	char line[64];
	for (int i = 4; i < argc && !status; i++)
		status = fgets(line, sizeof(line), stdin) ? (publish(fb, argv[i]) ? 2 : 0) : 1;
	fb_file_close(fb);
	return status;
}
