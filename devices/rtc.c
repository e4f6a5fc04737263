#include "devices/rtc.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/error.h"
#include "devices/host.h"
#include "devices/snapshot.h"

#define PORT_RTC_INDEX 0x70

static atomic_uint rtc_index;

static uint8_t bcd(int v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }

static uint8_t rtc_register_value(unsigned int index)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	switch (index) {
	case 0x00:
		return bcd(tm.tm_sec);
	case 0x02:
		return bcd(tm.tm_min);
	case 0x04:
		return bcd(tm.tm_hour);
	case 0x06:
		return bcd(tm.tm_wday + 1);
	case 0x07:
		return bcd(tm.tm_mday);
	case 0x08:
		return bcd(tm.tm_mon + 1);
	case 0x09:
		return bcd(tm.tm_year % 100);
	case 0x32:
		return bcd(1900 + tm.tm_year / 100); /* century */
	case 0x0a:
		return 0x26; /* no update in progress, 32.768 kHz, 1024 Hz */
	case 0x0b:
		return 0x02; /* 24-hour mode, BCD, no interrupts */
	case 0x0c:
		return 0x00;
	case 0x0d:
		return 0x80; /* valid RAM and time */
	default:
		return 0x00;
	}
}

static void rtc_read(void *opaque, uint64_t offset, void *data, unsigned int len)
{
	memset(data, 0xff, len);
	if (offset == 1)
		*(uint8_t *)data = rtc_register_value(atomic_load(&rtc_index));
}

static void rtc_write(void *opaque, uint64_t offset, const void *data, unsigned int len)
{
	if (offset == 0)
		atomic_store(&rtc_index, *(const uint8_t *)data & 0x7f); /* bit 7 masks NMI */
}

/* The time registers read the host's clock; the index latch is the state. */
static bool rtc_save(void *opaque, struct snap_writer *w, GError **error)
{
	snap_put_u8(w, (uint8_t)atomic_load(&rtc_index));
	return true;
}

static bool rtc_load(void *opaque, struct snap_reader *r, GError **error)
{
	uint8_t index = snap_get_u8(r);
	if (!snap_reader_done(r, error))
		return false;
	atomic_store(&rtc_index, index & 0x7f);
	return true;
}

bool rtc_register(struct vm_host *host, GError **error)
{
	struct bus_range r = { PORT_RTC_INDEX, 2, "rtc", rtc_read, rtc_write, NULL };
	int ret = bus_register(&host->pio, &r);
	if (ret < 0) {
		g_set_error(error, SEPIA_ERROR, -ret, "rtc: cannot claim ports 0x70-0x71: %s",
			    g_strerror(-ret));
		return false;
	}
	vm_host_add_state(host, "rtc", rtc_save, rtc_load, NULL);
	return true;
}
