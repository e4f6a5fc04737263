/* bench/gpu.sh's floor: how fast this host copies one W x H frame of 4-byte pixels, the
 * least a device that moves every frame into a host framebuffer must do.
 * usage: copy-probe WIDTH HEIGHT FRAMES -> "memcpy  <fps> fps  <ms> ms/frame" */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	if (argc != 4)
		return 2;
	size_t bytes = (size_t)atoi(argv[1]) * (size_t)atoi(argv[2]) * 4;
	int frames = atoi(argv[3]);
	unsigned char *src = malloc(bytes), *dst = malloc(bytes);
	if (!src || !dst || frames <= 0)
		return 1;
	memset(src, 1, bytes);
	memset(dst, 0, bytes);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < frames; i++) {
		src[(size_t)i * 4099 % bytes] = (unsigned char)i;
		memcpy(dst, src, bytes);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%-12s %8.1f fps  %7.2f ms/frame  (checksum %d)\n", "memcpy", frames / s, s * 1000 / frames, dst[bytes / 2]);
	return 0;
}
