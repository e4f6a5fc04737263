/* What the backends share when one image opens another (a qcow2 backing file, a VMDK
 * extent): the chain's top image, its depth, the allowed-directory check and image locks.
 * Not a public interface: everything outside block/ goes through block.h. */
#pragma once

#include "block/block.h"

#include <stddef.h>
#include <stdint.h>

#define BLOCK_MAX_CHAIN 16

/* The chain being opened. */
struct block_chain {
	char *top_dirs[2];  /* real paths: the top image's directory as named, and its real file's */
	unsigned int depth; /* images above the one being opened */
};

/* The chain of top image path, at depth 0. */
void block_chain_init(struct block_chain *chain, const char *top_path);
void block_chain_clear(struct block_chain *chain);

/* The real path of name, as written inside the image parent_path (see block_open_child),
 * when it lies under an allowed directory; else NULL with an error naming both. */
char *block_resolve_child(const struct block_chain *chain, const char *parent_kind, const char *parent_path,
			  const char *what, const char *name, GError **error);
/* Opens name, as written inside the image parent_path (a parent_kind such as "qcow2 image",
 * naming it as its what: "backing file", "extent"), as format ("raw", "qcow2", "vmdk"; NULL:
 * probed). A relative name is relative to parent_path's directory; the file's real path must
 * lie under an allowed directory (block.h) or the open is refused. Errors name parent_path
 * and the file. */
struct block_backend *block_open_child(const struct block_chain *chain, const char *parent_kind,
				       const char *parent_path, const char *what, const char *name,
				       const char *format, bool readonly, GError **error);

/* The backends' openers, for an image of chain (its top, or an image named inside it). */
struct block_backend *block_qcow2_open_in(const struct block_chain *chain, const char *path, bool readonly,
					  GError **error);
struct block_backend *block_vmdk_open_in(const struct block_chain *chain, const char *path, bool readonly,
					 GError **error);

/* What an image whose first len bytes are head probes as: "qcow2", "vmdk" (a text
 * descriptor), "vmdk-sparse" (refused by block_open) or "raw". */
const char *block_probe_bytes(const uint8_t *head, size_t len);

/* raw.c: from now on, writes that would make the first sector of b (a raw backend) probe
 * as anything but raw fail with -EIO. */
void block_raw_guard_probe(struct block_backend *b);

/* image_lock.c: an OFD lock on all of fd's file (path names it in errors), exclusive when
 * write, else shared; held until the open file description is closed. A conflicting lock
 * fails at once, naming the file and the holder's pid where it can be found. */
bool block_lock_image(int fd, const char *path, bool write, GError **error);
