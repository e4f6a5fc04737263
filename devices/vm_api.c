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
#define API_FDS_MAX  (2 + VM_MAX_DISKS) /* state, memory, each disk */

struct vm_api {
	char *path;
	int listen_fd;
	int client_fd;
	/* Descriptors the client sent (SCM_RIGHTS) for its next command: a snapshot's files. */
	int passed_fd[API_FDS_MAX];
	unsigned int n_passed;
	GString *line;
};

static void vm_api_drop_passed_fd(struct vm_api *api)
{
	for (unsigned int i = 0; i < api->n_passed; i++)
		close(api->passed_fd[i]);
	api->n_passed = 0;
}

int vm_api_listen_fd(const struct vm_api *api) { return api->listen_fd; }

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
	vm_api_drop_passed_fd(api);
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

char *vm_api_command(struct vm *vm, const char *line) { return vm_api_command_fds(vm, line, NULL, 0); }

char *vm_api_command_fds(struct vm *vm, const char *line, const int *fds, unsigned int n_fds)
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
		bool ok = vm_snapshot_take(vm, dir, fds, n_fds, &error);
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
	vm_api_drop_passed_fd(api);
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
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(int) * API_FDS_MAX)];
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov,
			      .msg_iovlen = 1,
			      .msg_control = control.bytes,
			      .msg_controllen = sizeof(control.bytes) };
	ssize_t n = recvmsg(api->client_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vm_api_drop_client(api);
		return;
	}
	/* Descriptors go with the command whose bytes they came with; more than fit are closed
	 * by the kernel (MSG_CTRUNC), and the command is then refused for want of them. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		vm_api_drop_passed_fd(api);
		unsigned int n = (unsigned int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(api->passed_fd, CMSG_DATA(c), MIN(n, API_FDS_MAX) * sizeof(int));
		api->n_passed = MIN(n, API_FDS_MAX);
	}
	for (ssize_t i = 0; i < n && api->client_fd >= 0; i++) {
		if (buf[i] != '\n') {
			if (api->line->len < API_LINE_MAX)
				g_string_append_c(api->line, buf[i]);
			continue;
		}
		g_autofree char *answer = vm_api_command_fds(vm, api->line->str, api->passed_fd,
							     api->n_passed);
		vm_api_drop_passed_fd(api);
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
