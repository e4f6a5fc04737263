/* sepia's one log line; see log.h. */
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void log_linev(const char *who, const char *instance, const char *fmt, va_list ap)
{
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	g_autofree char *line = g_strdup_printf("%s.%03ldZ %s%s%s: %s\n", stamp, ts.tv_nsec / 1000000,
						instance ? instance : "", instance ? " " : "", who, msg);
	/* One write for the whole line; a short write (a full pipe) goes on from where it
	 * stopped, an error drops the line: logging never stops the program. */
	size_t len = strlen(line), done = 0;
	while (done < len) {
		ssize_t n = write(STDERR_FILENO, line + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
}

void log_line(const char *who, const char *instance, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_linev(who, instance, fmt, ap);
	va_end(ap);
}

struct log_origin {
	const char *who, *instance;
};

static void glib_to_log_line(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
	const struct log_origin *o = data;
	if ((level & G_LOG_LEVEL_DEBUG) && !g_getenv("SEPIA_DEBUG"))
		return;
	const char *mark = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? "error: "
			   : (level & G_LOG_LEVEL_WARNING)                      ? "warning: "
										: "";
	log_line(o->who, o->instance, "%s%s", mark, message);
}

void log_route_glib(const char *who, const char *instance)
{
	static struct log_origin origin;
	origin = (struct log_origin){ who, instance };
	g_log_set_default_handler(glib_to_log_line, &origin);
}
