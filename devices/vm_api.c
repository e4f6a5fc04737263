/* sepia-vmm's control socket; see vm_api.h. */
#include "devices/vm_api.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/error.h"
#include "devices/vm_snapshot.h"

#define API_LINE_MAX 4096

struct vm_api {
	char *path;
	int listen_fd;
	int client_fd;
	GString *line;
};

struct vm_api *vm_api_open(const char *path, GError **error)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(addr.sun_path)) {
		g_set_error(error, SEPIA_ERROR, ENAMETOOLONG, "--api-socket %s: the path is too long", path);
		return NULL;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "--api-socket %s: socket: %s", path,
			    g_strerror(errno));
		return NULL;
	}
	unlink(path); /* a stale socket of an earlier run */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (r < 0 || listen(fd, 4) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "--api-socket %s: cannot listen: %s", path,
			    g_strerror(errno));
		close(fd);
		return NULL;
	}
	struct vm_api *api = g_new0(struct vm_api, 1);
	api->path = g_strdup(path);
	api->listen_fd = fd;
	api->client_fd = -1;
	api->line = g_string_new(NULL);
	return api;
}

void vm_api_close(struct vm_api *api)
{
	if (!api)
		return;
	if (api->client_fd >= 0)
		close(api->client_fd);
	close(api->listen_fd);
	unlink(api->path);
	g_free(api->path);
	g_string_free(api->line, TRUE);
	g_free(api);
}

unsigned int vm_api_pollfds(struct vm_api *api, struct pollfd *fds)
{
	unsigned int n = 0;
	fds[n++] = (struct pollfd){ .fd = api->listen_fd, .events = POLLIN };
	if (api->client_fd >= 0)
		fds[n++] = (struct pollfd){ .fd = api->client_fd, .events = POLLIN };
	return n;
}

char *vm_api_command(struct vm *vm, const char *line)
{
	g_autofree char *cmd = g_strstrip(g_strdup(line));
	if (!strcmp(cmd, "status"))
		return g_strdup(vm->paused ? "ok paused" : "ok running");
	if (!strcmp(cmd, "pause")) {
		vm_pause(vm);
		return g_strdup("ok paused");
	}
	if (!strcmp(cmd, "resume")) {
		vm_resume(vm);
		return g_strdup("ok running");
	}
	if (g_str_has_prefix(cmd, "snapshot ") && cmd[9]) {
		const char *dir = g_strchug(cmd + 9);
		bool was_paused = vm->paused;
		g_autoptr(GError) error = NULL;
		vm_pause(vm);
		bool ok = vm_snapshot_take(vm, dir, &error);
		if (!was_paused)
			vm_resume(vm);
		if (!ok) {
			g_warning("vm: %s", error->message);
			return g_strdup_printf("error %s", error->message);
		}
		return g_strdup_printf("ok snapshot %s", dir);
	}
	return g_strdup_printf("error unknown command '%s' (status, pause, resume, snapshot DIR)", cmd);
}

static void vm_api_drop_client(struct vm_api *api)
{
	close(api->client_fd);
	api->client_fd = -1;
	g_string_truncate(api->line, 0);
}

static void vm_api_answer(struct vm_api *api, const char *answer)
{
	g_autofree char *line = g_strdup_printf("%s\n", answer);
	size_t off = 0, len = strlen(line);
	while (off < len) {
		ssize_t n = send(api->client_fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = api->client_fd, .events = POLLOUT };
			if (poll(&p, 1, 1000) > 0)
				continue;
		}
		if (n <= 0) {
			vm_api_drop_client(api);
			return;
		}
		off += (size_t)n;
	}
}

static void vm_api_read_client(struct vm_api *api, struct vm *vm)
{
	char buf[1024];
	ssize_t n = recv(api->client_fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vm_api_drop_client(api);
		return;
	}
	for (ssize_t i = 0; i < n && api->client_fd >= 0; i++) {
		if (buf[i] != '\n') {
			if (api->line->len < API_LINE_MAX)
				g_string_append_c(api->line, buf[i]);
			continue;
		}
		g_autofree char *answer = vm_api_command(vm, api->line->str);
		g_string_truncate(api->line, 0);
		vm_api_answer(api, answer);
	}
}

void vm_api_serve(struct vm_api *api, struct vm *vm, const struct pollfd *fds, unsigned int n)
{
	if (n > 1 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) && api->client_fd == fds[1].fd)
		vm_api_read_client(api, vm);
	if (fds[0].revents & POLLIN) {
		int c = accept4(api->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c >= 0) {
			if (api->client_fd >= 0)
				vm_api_drop_client(api);
			api->client_fd = c;
		}
	}
}
