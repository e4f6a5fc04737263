/* VMDK text descriptors with FLAT and ZERO extents: the composite disk, a concatenation of
 * partition files (no copies) and zero-filled gaps. Only the descriptor format is read
 * here; sparse VMDK extents (SPARSE, VMFSSPARSE, SESPARSE) and delta disks are refused.
 *
 *   # Disk DescriptorFile
 *   version=1
 *   CID=fffffffe
 *   parentCID=ffffffff
 *   createType="monolithicFlat"
 *   RW 2048 FLAT "part1.img" 0
 *   RW 4096 ZERO
 *   RDONLY 100 FLAT "/abs/part2.img" 10
 *
 * Extent sizes and offsets are in 512-byte sectors; relative file names are relative to
 * the descriptor's directory, and every extent must lie under an allowed directory (block.h).
 * A file named by several extents is opened once (writable when one of them is RW), so its
 * image lock does not conflict with itself; the descriptor keeps a read lock.
 *
 * Interoperability (QEMU 7.2's vmdk driver, checked by tests/unit/test-block.c): QEMU
 * accepts createType monolithicFlat, twoGbMaxExtentFlat, vmfs (and sparse types) only, and
 * it silently skips extent lines that are not "RW" or carry no file name — ZERO, RDONLY
 * and NOACCESS extents vanish there and shift everything after them. A descriptor meant
 * for both should use monolithicFlat and only RW FLAT extents (a gap can be a FLAT extent
 * over a sparse file). */
#include "block/chain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"

#define VMDK_MAX_DESCRIPTOR (1u << 20)
#define VMDK_MAX_EXTENTS    4096
#define VMDK_SECTOR         512ULL

enum vmdk_access { VMDK_RW, VMDK_RDONLY, VMDK_NOACCESS };

struct vmdk_extent {
	uint64_t start;    /* guest byte offset */
	uint64_t len;      /* bytes */
	uint64_t file_off; /* byte offset in the extent file */
	enum vmdk_access access;
	char *name;                 /* the file as the descriptor names it; NULL for a ZERO extent */
	char *real;                 /* its real path, once resolved */
	struct block_backend *file; /* NULL for a ZERO extent */
	bool shared;                /* file belongs to an earlier extent */
};

struct vmdk {
	struct block_backend b;
	int fd; /* the descriptor, holding its read lock */
	struct vmdk_extent *ext;
	unsigned int n_ext;
};

static struct vmdk *to_vmdk(struct block_backend *b) { return (struct vmdk *)b; }

/* The extent holding guest offset pos (pos < size). */
static struct vmdk_extent *find_extent(struct vmdk *v, uint64_t pos)
{
	unsigned int lo = 0, hi = v->n_ext;
	while (hi - lo > 1) {
		unsigned int mid = (lo + hi) / 2;
		if (v->ext[mid].start <= pos)
			lo = mid;
		else
			hi = mid;
	}
	return &v->ext[lo];
}

static int vmdk_transfer(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off,
			 bool write)
{
	struct vmdk *v = to_vmdk(b);
	if (write && b->readonly)
		return -EROFS;
	if (iovcnt < 0 || iovcnt > IOV_MAX)
		return -EINVAL;
	uint64_t len = block_iov_length(iov, iovcnt);
	if (write && (off > b->size || len > b->size - off))
		return -EIO;
	/* A write touching a ZERO, read-only or inaccessible extent fails before any byte
	 * is written. */
	for (uint64_t done = 0; write && done < len;) {
		struct vmdk_extent *e = find_extent(v, off + done);
		if (e->access != VMDK_RW || !e->file)
			return -EIO;
		done += MIN(len - done, e->len - (off + done - e->start));
	}
	struct iovec *sub = g_new(struct iovec, MAX(iovcnt, 1));
	int ret = 0;
	for (uint64_t done = 0; done < len && ret == 0;) {
		uint64_t pos = off + done;
		int cnt;
		if (pos >= b->size) { /* reads past the end give zeroes */
			cnt = block_iov_slice(iov, iovcnt, done, len - done, sub);
			for (int i = 0; i < cnt; i++)
				memset(sub[i].iov_base, 0, sub[i].iov_len);
			break;
		}
		struct vmdk_extent *e = find_extent(v, pos);
		uint64_t in = pos - e->start, n = MIN(len - done, e->len - in);
		cnt = block_iov_slice(iov, iovcnt, done, n, sub);
		if (e->access == VMDK_NOACCESS || (write && (e->access != VMDK_RW || !e->file))) {
			ret = -EIO;
		} else if (!e->file) {
			for (int i = 0; i < cnt; i++)
				memset(sub[i].iov_base, 0, sub[i].iov_len);
		} else if (write) {
			ret = e->file->ops->pwritev(e->file, sub, cnt, e->file_off + in);
		} else {
			ret = e->file->ops->preadv(e->file, sub, cnt, e->file_off + in);
		}
		done += n;
	}
	g_free(sub);
	return ret;
}

static int vmdk_preadv(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return vmdk_transfer(b, iov, iovcnt, off, false);
}

static int vmdk_pwritev(struct block_backend *b, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return vmdk_transfer(b, iov, iovcnt, off, true);
}

static int vmdk_flush(struct block_backend *b)
{
	struct vmdk *v = to_vmdk(b);
	int ret = 0;
	for (unsigned int i = 0; i < v->n_ext; i++) {
		struct block_backend *f = v->ext[i].file;
		if (f && !f->readonly && !v->ext[i].shared) {
			int r = f->ops->flush(f);
			if (r < 0)
				ret = r;
		}
	}
	return ret;
}

/* write_zeroes (zero=true) and discard over the extents of the range: ZERO extents already
 * read as zeroes; read-only extents refuse zeroing and ignore discards. */
static int vmdk_range(struct block_backend *b, uint64_t off, uint64_t len, bool unmap, bool zero)
{
	struct vmdk *v = to_vmdk(b);
	if (b->readonly)
		return -EROFS;
	if (off > b->size || len > b->size - off)
		return -EIO;
	int ret = 0;
	for (uint64_t done = 0; done < len && ret == 0;) {
		struct vmdk_extent *e = find_extent(v, off + done);
		uint64_t in = off + done - e->start, n = MIN(len - done, e->len - in);
		done += n;
		if (!e->file)
			continue;
		if (e->access != VMDK_RW || e->file->readonly) {
			if (zero)
				ret = -EIO;
			continue;
		}
		ret = zero ? e->file->ops->write_zeroes(e->file, e->file_off + in, n, unmap)
			   : e->file->ops->discard(e->file, e->file_off + in, n);
	}
	return ret;
}

static int vmdk_write_zeroes(struct block_backend *b, uint64_t off, uint64_t len, bool unmap)
{
	return vmdk_range(b, off, len, unmap, true);
}

static int vmdk_discard(struct block_backend *b, uint64_t off, uint64_t len)
{
	return vmdk_range(b, off, len, true, false);
}

static void vmdk_close(struct block_backend *b)
{
	struct vmdk *v = to_vmdk(b);
	for (unsigned int i = 0; i < v->n_ext; i++) {
		if (!v->ext[i].shared)
			block_close(v->ext[i].file);
		g_free(v->ext[i].name);
		g_free(v->ext[i].real);
	}
	if (v->fd >= 0)
		close(v->fd);
	g_free(v->ext);
	g_free(v->b.path);
	g_free(v);
}

static const struct block_backend_ops vmdk_ops = {
	.preadv = vmdk_preadv,
	.pwritev = vmdk_pwritev,
	.flush = vmdk_flush,
	.write_zeroes = vmdk_write_zeroes,
	.discard = vmdk_discard,
	.close = vmdk_close,
};

static bool parse_u64(const char *s, uint64_t *out)
{
	if (!g_ascii_isdigit(*s))
		return false;
	char *end;
	errno = 0;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

/* One extent line: ACCESS SECTORS TYPE ["FILE" [OFFSET]]. */
static bool parse_extent(struct vmdk *v, const char *line, GError **error)
{
	const char *path = v->b.path;
	g_autofree char *fname = NULL;
	const char *rest;
	/* The first three blank-separated words: access, size, type. */
	g_autoptr(GPtrArray) words = g_ptr_array_new_with_free_func(g_free);
	const char *p = line;
	while (words->len < 3) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *w = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		g_ptr_array_add(words, g_strndup(w, (gsize)(p - w)));
	}
	if (words->len < 3) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: bad extent line: %s", path,
			    line);
		return false;
	}
	const char *acc = words->pdata[0], *type = words->pdata[2];
	uint64_t sectors, offset = 0;
	bool has_offset = false;
	rest = p;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	if (*rest == '"') {
		const char *q = strchr(rest + 1, '"');
		if (!q || q == rest + 1) {
			g_set_error(error, SEPIA_ERROR, EINVAL,
				    "VMDK descriptor %s: bad file name in extent line: %s", path, line);
			return false;
		}
		fname = g_strndup(rest + 1, (gsize)(q - rest - 1));
		rest = q + 1;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (*rest) {
			g_autofree char *num = g_strdup(rest);
			g_strchomp(num);
			if (!parse_u64(num, &offset)) {
				g_set_error(error, SEPIA_ERROR, EINVAL,
					    "VMDK descriptor %s: bad extent offset in: %s", path, line);
				return false;
			}
			has_offset = true;
		}
	} else if (*rest) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: file name must be quoted in: %s",
			    path, line);
		return false;
	}
	enum vmdk_access access;
	if (!strcmp(acc, "RW")) {
		access = VMDK_RW;
	} else if (!strcmp(acc, "RDONLY")) {
		access = VMDK_RDONLY;
	} else if (!strcmp(acc, "NOACCESS")) {
		access = VMDK_NOACCESS;
	} else {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: bad access mode %s", path, acc);
		return false;
	}
	if (!parse_u64(words->pdata[1], &sectors) || sectors == 0 || sectors > (UINT64_MAX / VMDK_SECTOR) ||
	    offset > UINT64_MAX / VMDK_SECTOR) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: bad extent size in: %s", path,
			    line);
		return false;
	}
	bool flat = !strcmp(type, "FLAT") || !strcmp(type, "VMFS");
	if (!flat && strcmp(type, "ZERO")) {
		g_set_error(error, SEPIA_ERROR, ENOTSUP,
			    "VMDK descriptor %s: extent type %s is not supported "
			    "(FLAT, VMFS and ZERO are)",
			    path, type);
		return false;
	}
	if (flat != (fname != NULL) || (!flat && has_offset) || (!strcmp(type, "FLAT") && !has_offset) ||
	    (!strcmp(type, "VMFS") && has_offset)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: bad %s extent line: %s", path,
			    type, line);
		return false;
	}
	uint64_t len = sectors * VMDK_SECTOR;
	if (v->b.size > UINT64_MAX - len || v->n_ext >= VMDK_MAX_EXTENTS) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s: too many or too large extents",
			    path);
		return false;
	}
	struct vmdk_extent e = { .start = v->b.size,
				 .len = len,
				 .file_off = offset * VMDK_SECTOR,
				 .access = access,
				 .name = g_steal_pointer(&fname) };
	v->ext = g_renew(struct vmdk_extent, v->ext, v->n_ext + 1);
	v->ext[v->n_ext++] = e;
	v->b.size += len;
	return true;
}

static bool parse_descriptor(struct vmdk *v, char *text, GError **error)
{
	const char *path = v->b.path;
	bool have_type = false;
	char *save = NULL;
	for (char *line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		line = g_strstrip(line);
		if (!*line || *line == '#')
			continue;
		if (g_str_has_prefix(line, "RW ") || g_str_has_prefix(line, "RW\t") ||
		    g_str_has_prefix(line, "RDONLY") || g_str_has_prefix(line, "NOACCESS")) {
			if (!parse_extent(v, line, error))
				return false;
			continue;
		}
		char *eq = strchr(line, '=');
		if (!eq)
			continue; /* unknown lines are ignored, as other readers do */
		*eq = 0;
		char *key = g_strstrip(line), *val = g_strstrip(eq + 1);
		size_t vl = strlen(val);
		if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
			val[vl - 1] = 0;
			val++;
		}
		if (!strcmp(key, "createType")) {
			have_type = true;
			if (strstr(val, "Sparse") || !strcmp(val, "streamOptimized")) {
				g_set_error(
					error, SEPIA_ERROR, ENOTSUP,
					"VMDK descriptor %s: createType %s (sparse VMDK) is not supported",
					path, val);
				return false;
			}
		} else if (!strcmp(key, "parentCID") && g_ascii_strcasecmp(val, "ffffffff")) {
			g_set_error(error, SEPIA_ERROR, ENOTSUP,
				    "VMDK descriptor %s: delta disks (parentCID %s) are not supported", path,
				    val);
			return false;
		}
	}
	if (!have_type || v->n_ext == 0) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s has no %s", path,
			    have_type ? "extents" : "createType");
		return false;
	}
	return true;
}

/* Opens the extents' files: each once, writable when the disk is and one of its extents is RW. */
static bool open_extents(struct vmdk *v, const struct block_chain *chain, GError **error)
{
	for (unsigned int i = 0; i < v->n_ext; i++) {
		struct vmdk_extent *e = &v->ext[i];
		if (e->name && !(e->real = block_resolve_child(chain, "VMDK descriptor", v->b.path, "extent",
							       e->name, error)))
			return false;
	}
	for (unsigned int i = 0; i < v->n_ext; i++) {
		struct vmdk_extent *e = &v->ext[i];
		if (!e->real)
			continue;
		for (unsigned int j = 0; j < i && !e->file; j++)
			if (v->ext[j].real && !strcmp(v->ext[j].real, e->real)) {
				e->file = v->ext[j].file;
				e->shared = true;
			}
		if (e->file)
			continue;
		bool writable = false;
		for (unsigned int j = i; j < v->n_ext && !v->b.readonly; j++)
			writable |= v->ext[j].real && !strcmp(v->ext[j].real, e->real) &&
				    v->ext[j].access == VMDK_RW;
		e->file = block_open_child(chain, "VMDK descriptor", v->b.path, "extent", e->real, "raw",
					   !writable, error);
		if (!e->file)
			return false;
	}
	return true;
}

struct block_backend *block_vmdk_open(const char *path, bool readonly, GError **error)
{
	struct block_chain chain;
	block_chain_init(&chain, path);
	struct block_backend *b = block_vmdk_open_in(&chain, path, readonly, error);
	block_chain_clear(&chain);
	return b;
}

struct block_backend *block_vmdk_open_in(const struct block_chain *chain, const char *path, bool readonly,
					 GError **error)
{
	struct vmdk *v = g_new0(struct vmdk, 1);
	v->b.ops = &vmdk_ops;
	v->b.format = "vmdk";
	v->b.path = g_strdup(path);
	v->b.readonly = readonly;
	g_autofree char *text = NULL;
	int fd = v->fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		g_set_error(error, SEPIA_ERROR, errno, "cannot open disk %s: %s", path, g_strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > VMDK_MAX_DESCRIPTOR) {
		g_set_error(error, SEPIA_ERROR, EINVAL,
			    "VMDK descriptor %s is not a regular file of at most 1 MiB "
			    "(sparse VMDK images are not supported)",
			    path);
		goto fail;
	}
	if (!block_lock_image(fd, path, false, error))
		goto fail;
	text = g_malloc0((size_t)st.st_size + 1);
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, text + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != (size_t)st.st_size || memchr(text, 0, got)) {
		g_set_error(error, SEPIA_ERROR, EINVAL, "VMDK descriptor %s is unreadable or not text", path);
		goto fail;
	}
	if (!parse_descriptor(v, text, error) || !open_extents(v, chain, error))
		goto fail;
	return &v->b;
fail:
	vmdk_close(&v->b);
	return NULL;
}
