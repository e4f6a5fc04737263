/* The EDID a virtio-gpu scanout reports (VESA E-EDID 1.4 base block): one detailed
 * timing for the configured mode, its physical size from the dpi, and a monitor name. */
#include "devices/virtio/gpu_internal.h"

#include <string.h>

static void put_detailed_timing(uint8_t *d, uint32_t width, uint32_t height, uint32_t width_mm,
				uint32_t height_mm)
{
	/* CVT-style reduced blanking: 160 pixels and 30 lines, 60 Hz. */
	const uint32_t hblank = 160, vblank = 30, hfront = 48, hsync = 32, vfront = 3, vsync = 5;
	uint32_t clock_10khz = (uint32_t)(((uint64_t)(width + hblank) * (height + vblank) * 60 + 5000) /
					  10000);
	d[0] = (uint8_t)clock_10khz;
	d[1] = (uint8_t)(clock_10khz >> 8);
	d[2] = (uint8_t)width;
	d[3] = (uint8_t)hblank;
	d[4] = (uint8_t)(((width >> 8) & 0xf) << 4 | ((hblank >> 8) & 0xf));
	d[5] = (uint8_t)height;
	d[6] = (uint8_t)vblank;
	d[7] = (uint8_t)(((height >> 8) & 0xf) << 4 | ((vblank >> 8) & 0xf));
	d[8] = (uint8_t)hfront;
	d[9] = (uint8_t)hsync;
	d[10] = (uint8_t)((vfront & 0xf) << 4 | (vsync & 0xf));
	d[11] = 0; /* the high bits of the four above, all zero */
	d[12] = (uint8_t)width_mm;
	d[13] = (uint8_t)height_mm;
	d[14] = (uint8_t)(((width_mm >> 8) & 0xf) << 4 | ((height_mm >> 8) & 0xf));
	d[15] = d[16] = 0; /* no border */
	d[17] = 0x1e;      /* digital separate sync, both polarities positive */
}

static void put_text_descriptor(uint8_t *d, uint8_t tag, const char *text)
{
	memset(d, 0, 18);
	d[3] = tag;
	size_t n = strlen(text);
	memset(d + 5, ' ', 13);
	memcpy(d + 5, text, MIN(n, (size_t)12));
	if (n < 13)
		d[5 + n] = '\n';
}

void gpu_edid_build(uint8_t e[128], uint32_t width, uint32_t height, uint32_t dpi, unsigned int index)
{
	memset(e, 0, 128);
	static const uint8_t header[8] = { 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00 };
	memcpy(e, header, 8);
	/* Manufacturer "SEP": three 5-bit letters (A = 1), big-endian. */
	uint16_t mfg = (uint16_t)((('S' - '@') << 10) | (('E' - '@') << 5) | ('P' - '@'));
	e[8] = (uint8_t)(mfg >> 8);
	e[9] = (uint8_t)mfg;
	e[10] = 0x01;                 /* product code */
	e[12] = (uint8_t)(index + 1); /* serial: the scanout */
	e[16] = 1;                    /* week */
	e[17] = 2026 - 1990;          /* year of manufacture */
	e[18] = 1;                    /* EDID 1.4 */
	e[19] = 4;
	e[20] = 0xa5; /* digital, 8 bits per colour, DisplayPort */
	uint32_t width_mm = dpi ? (uint32_t)((uint64_t)width * 254 / (dpi * 10)) : 0;
	uint32_t height_mm = dpi ? (uint32_t)((uint64_t)height * 254 / (dpi * 10)) : 0;
	e[21] = (uint8_t)MIN((width_mm + 5) / 10, 255u); /* cm */
	e[22] = (uint8_t)MIN((height_mm + 5) / 10, 255u);
	e[23] = 120;  /* gamma 2.2 */
	e[24] = 0x06; /* RGB 4:4:4, sRGB, preferred timing is native */
	for (unsigned int i = 38; i < 54; i++)
		e[i] = 0x01; /* standard timings: unused */
	put_detailed_timing(e + 54, width, height, MIN(width_mm, 4095u), MIN(height_mm, 4095u));
	char name[13];
	g_snprintf(name, sizeof(name), "sepia-%u", index);
	put_text_descriptor(e + 72, 0xfc, name); /* monitor name */
	put_text_descriptor(e + 90, 0x10, "");   /* dummy */
	memset(e + 90 + 5, 0, 13);
	put_text_descriptor(e + 108, 0x10, "");
	memset(e + 108 + 5, 0, 13);
	uint8_t sum = 0;
	for (unsigned int i = 0; i < 127; i++)
		sum = (uint8_t)(sum + e[i]);
	e[127] = (uint8_t)(0x100 - sum);
}
