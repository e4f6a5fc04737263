/* Cursors over a descriptor chain; see chain.h. */
#include "devices/virtio/chain.h"

#include <string.h>

static void view_init(struct virtq_cursor *cur, const struct iovec *iov, unsigned int nr, uint64_t len)
{
	*cur = (struct virtq_cursor){ .iov = iov, .nr = nr, .left = (size_t)len };
}

void virtq_reader(const struct virtq_chain *c, struct virtq_cursor *r)
{
	view_init(r, c->iov, c->nr_out, c->out_len);
}

void virtq_writer(const struct virtq_chain *c, struct virtq_cursor *w)
{
	view_init(w, c->iov + c->nr_out, c->nr_in, c->in_len);
}

/* Moves up to len bytes between the view and buf (or only advances when buf is NULL). */
static size_t cursor_move(struct virtq_cursor *cur, void *buf, size_t len, bool into_view)
{
	size_t moved = 0;
	while (moved < len && cur->left > 0 && cur->nr > 0) {
		size_t seg_left = cur->iov->iov_len - cur->off;
		if (seg_left == 0) {
			cur->iov++;
			cur->nr--;
			cur->off = 0;
			continue;
		}
		size_t chunk = len - moved;
		if (chunk > seg_left)
			chunk = seg_left;
		if (chunk > cur->left)
			chunk = cur->left;
		uint8_t *seg = (uint8_t *)cur->iov->iov_base + cur->off;
		if (buf && into_view)
			memcpy(seg, (const uint8_t *)buf + moved, chunk);
		else if (buf)
			memcpy((uint8_t *)buf + moved, seg, chunk);
		cur->off += chunk;
		cur->left -= chunk;
		cur->done += chunk;
		moved += chunk;
	}
	return moved;
}

size_t virtq_read(struct virtq_cursor *r, void *buf, size_t len) { return cursor_move(r, buf, len, false); }

size_t virtq_write(struct virtq_cursor *w, const void *buf, size_t len)
{
	return cursor_move(w, (void *)buf, len, true);
}

bool virtq_read_obj(struct virtq_cursor *r, void *obj, size_t size)
{
	if (r->left < size)
		return false;
	return cursor_move(r, obj, size, false) == size;
}

bool virtq_write_obj(struct virtq_cursor *w, const void *obj, size_t size)
{
	if (w->left < size)
		return false;
	return cursor_move(w, (void *)obj, size, true) == size;
}

size_t virtq_skip(struct virtq_cursor *cur, size_t len) { return cursor_move(cur, NULL, len, false); }

void virtq_split_at(struct virtq_cursor *cur, size_t len, struct virtq_cursor *head)
{
	*head = *cur;
	if (len > cur->left)
		len = cur->left;
	head->left = len;
	head->done = 0;
	virtq_skip(cur, len);
	cur->done = 0; /* the rest is a view of its own from here */
}

int virtq_cursor_iov(const struct virtq_cursor *cur, struct iovec *out, unsigned int max)
{
	unsigned int n = 0;
	size_t left = cur->left, off = cur->off;
	for (unsigned int i = 0; i < cur->nr && left > 0; i++, off = 0) {
		size_t len = cur->iov[i].iov_len - off;
		if (len > left)
			len = left;
		if (len == 0)
			continue;
		if (n == max)
			return -1;
		out[n++] = (struct iovec){ (uint8_t *)cur->iov[i].iov_base + off, len };
		left -= len;
	}
	return (int)n;
}
