/* log: one line into the guest's log (logd, guest/init/logd.h), as Android's log tool.
 *
 *   log [-p v|d|i|w|e|f] [-t TAG] MESSAGE...
 *
 * Priority i and tag "log" by default. Exit status 0; 1 when logd cannot be
 * reached (with a message); 2 for a usage error. */
#include "logd-client.h"

#include <ctype.h>
#include <getopt.h>

int main(int argc, char **argv)
{
	char header[LOGD_TAG_HEADER_MAX], msg[1024];
	const char *tag = "log";
	char prio = 'I';
	size_t len = 0;
	int opt, fd;

	while ((opt = getopt(argc, argv, "p:t:")) != -1) {
		switch (opt) {
		case 'p':
			prio = (char)toupper((unsigned char)optarg[0]);
			if (optarg[0] == '\0' || optarg[1] != '\0' || strchr("VDIWEF", prio) == NULL) {
				fprintf(stderr, "log: -p %s: give one of v, d, i, w, e, f\n", optarg);
				return 2;
			}
			break;
		case 't':
			tag = optarg;
			break;
		default:
			fprintf(stderr, "usage: log [-p v|d|i|w|e|f] [-t TAG] MESSAGE...\n");
			return 2;
		}
	}
	if (optind >= argc || tag[0] == '\0' || strchr(tag, '\n')) {
		fprintf(stderr, "usage: log [-p v|d|i|w|e|f] [-t TAG] MESSAGE...\n");
		return 2;
	}
	for (int i = optind; i < argc && len < sizeof(msg) - 2; i++)
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s", i > optind ? " " : "", argv[i]);
	if (len > sizeof(msg) - 2)
		len = sizeof(msg) - 2;
	msg[len++] = '\n';
	snprintf(header, sizeof(header), "%c %.32s", prio, tag);
	fd = logd_client_open(header);
	if (fd < 0) {
		fprintf(stderr, "log: cannot reach logd on %s: %s\n", LOGD_SOCKET, strerror(-fd));
		return 1;
	}
	if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		fprintf(stderr, "log: cannot write to logd: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
