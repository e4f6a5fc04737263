/* rss-probe: an LD_PRELOAD library for bench/vmm-vs-qemu.sh that reports how much of
 * the guest's RAM was resident, i.e. touched by the guest or the VMM (guest RAM is an
 * anonymous mapping populated lazily, page by page).
 *
 * Guest RAM = every anonymous, non-executable mapping of at least BENCH_RSS_PROBE_MIN_KB
 * (TCG's code buffer is executable and so left out). Its Rss is read from
 * /proc/self/smaps at two moments: just before the program munmap()s it (sepia-vmm
 * unmaps guest RAM when it tears the VM down), and at exit (a destructor, run by exit()
 * or a return from main; QEMU's isa-debug-exit calls exit()) for what is still mapped.
 * Written to BENCH_RSS_PROBE_OUT as
 *   mapping START-END size_kb=N rss_kb=N at=munmap|exit
 *   total rss_kb=N
 * Used only for an untimed warm-up run, so it never skews the timed ones.
 *
 * Both files are opened in a constructor, before main: sepia-vmm's sandbox later pivots
 * into an empty root and fails every open (devices/sandbox/syscalls.c), so a file opened
 * at munmap or exit time would not be found. The smaps descriptor is rewound and read
 * again at each moment (its content is made anew on every read from the start). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long probe_total_kb;
static char probe_lines[4096];
static int smaps_fd = -1, out_fd = -1;

static void __attribute__((constructor)) probe_open(void)
{
	const char *out_path = getenv("BENCH_RSS_PROBE_OUT");

	if (out_path == NULL)
		return;
	smaps_fd = open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
	out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Adds the Rss of every qualifying mapping that lies within [lo, hi). */
static void probe_scan(uintptr_t lo, uintptr_t hi, const char *when)
{
	const char *min_env = getenv("BENCH_RSS_PROBE_MIN_KB");
	unsigned long min_kb = min_env != NULL ? strtoul(min_env, NULL, 10) : 65536;
	char line[512], range[64], perms[8], mapping[64] = "";
	unsigned long size_kb = 0, v, start, end;
	int counted = 0; /* the current mapping qualifies */
	int fd = smaps_fd < 0 || lseek(smaps_fd, 0, SEEK_SET) < 0 ? -1 : dup(smaps_fd);
	FILE *in = fd < 0 ? NULL : fdopen(fd, "r");

	if (in == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (fgets(line, sizeof(line), in) != NULL) {
		char path[256] = "";
		/* A mapping header: "start-end perms offset dev inode [path]". */
		if (sscanf(line, "%63s %7s %*s %*s %*s %255s", range, perms, path) >= 2 &&
		    strlen(perms) == 4 && sscanf(range, "%lx-%lx", &start, &end) == 2) {
			snprintf(mapping, sizeof(mapping), "%s", range);
			counted = path[0] == '\0' && strchr(perms, 'x') == NULL && start >= lo && end <= hi;
			size_kb = 0;
			continue;
		}
		if (sscanf(line, "Size: %lu kB", &v) == 1) {
			size_kb = v;
		} else if (sscanf(line, "Rss: %lu kB", &v) == 1 && counted && size_kb >= min_kb) {
			size_t used = strlen(probe_lines);
			snprintf(probe_lines + used, sizeof(probe_lines) - used,
				 "mapping %s size_kb=%lu rss_kb=%lu at=%s\n", mapping, size_kb, v, when);
			probe_total_kb += v;
		}
	}
	fclose(in);
}

int munmap(void *addr, size_t len)
{
	static int (*real_munmap)(void *, size_t);

	if (real_munmap == NULL)
		real_munmap = (int (*)(void *, size_t))dlsym(RTLD_NEXT, "munmap");
	if (smaps_fd >= 0) {
		pthread_mutex_lock(&probe_lock);
		probe_scan((uintptr_t)addr, (uintptr_t)addr + len, "munmap");
		pthread_mutex_unlock(&probe_lock);
	}
	return real_munmap(addr, len);
}

static void __attribute__((destructor)) probe_report(void)
{
	if (out_fd < 0)
		return;
	pthread_mutex_lock(&probe_lock);
	probe_scan(0, UINTPTR_MAX, "exit");
	dprintf(out_fd, "%stotal rss_kb=%lu\n", probe_lines, probe_total_kb);
	pthread_mutex_unlock(&probe_lock);
}
