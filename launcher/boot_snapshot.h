/* launcher/boot_snapshot.h — the automatic boot snapshot (docs/boot-snapshot.md).
 *
 * The reference guest's init stops at a *snapshot point* (sepia.boot_snapshot=1): the kernel
 * and early services are up, /data and /metadata are not mounted, nothing per launch has been
 * read. It says "snapshot-point" on its control channel (hvc3) and waits for "continue". The
 * monitor snapshots the machine there the first time (a key miss), and every later boot with
 * the same key restores that snapshot instead of booting: the guest goes on from the point with
 * whatever the disks hold now (sepia-vmm --restore-keep-disks).
 *
 * The key is the text of everything the guest saw before the point: the manifest's input
 * hashes and the composite disk's layout, the slot and its AVB verdict, the machine (cpus,
 * memory, GPU mode, displays, NICs, vsock CID, devices), the kernel command line as the guest
 * gets it, and sepia's version and VMM build. Its SHA-256 names the cache entry.
 *
 * The cache is a directory of entries <cache>/<sha256>/ (key.txt, state.sepia, memory.bin),
 * shared by every launch that points at it: an entry is made in <cache>/.tmp-XXXXXX and renamed
 * into place under <cache>/lock, so a reader sees a whole entry or none, and two launches
 * taking the same key at once keep the first one. Only the newest BOOT_SNAPSHOT_KEEP entries
 * (by last use) stay. */
#pragma once

#include <glib.h>
#include <stdbool.h>

#include "launcher/vmm_child.h"

#define BOOT_SNAPSHOT_KEEP    3
#define BOOT_SNAPSHOT_ENV_DIR "SEPIA_BOOT_SNAPSHOT_DIR"

/* What shapes the guest up to the snapshot point. */
typedef struct {
	const char *vmm_path;      /* sepia-vmm: its content is hashed (the state format is its) */
	const char *manifest_path; /* the assembly's manifest.json */
	const char *slot_suffix;   /* "_a" */
	const char *avb_state;     /* "green", "yellow", "orange" */
	guint cpus, memory_mb;
	const char *gpu;             /* sepia-vmm's --gpu mode, "none" for none */
	const char *const *displays; /* NULL-terminated, may be NULL */
	const char *const *nets;     /* NULL-terminated --net specs, may be NULL */
	guint vsock_cid;
	bool rng, input;
	const char *cmdline; /* the kernel command line as the guest gets it */
} BootSnapshotInputs;

/* The part of manifest.json (its text) that the guest sees: each input's role, size, SHA-256
 * and header version, the composite's size and each partition's name, offset, size, type and
 * attributes; never paths, times or the random GUIDs. One "manifest ..." line each. */
char *boot_snapshot_manifest_key(const char *manifest_json);

/* The key's text (one "name=value" line each); NULL with an error naming the file that could
 * not be read. */
char *boot_snapshot_key_text(const BootSnapshotInputs *in, GError **error);

/* The SHA-256 of the key text, in hex: the entry's name. */
char *boot_snapshot_key_digest(const char *key_text);

/* The cache: $SEPIA_BOOT_SNAPSHOT_DIR, else $XDG_CACHE_HOME/sepia/boot-snapshots, else
 * $HOME/.cache/sepia/boot-snapshots. */
char *boot_snapshot_default_cache(void);

/* The entry for digest when it is whole (key.txt equal to key_text, state.sepia, memory.bin of
 * memory_mb MiB); its time is set to now (the pruning keeps the newest). NULL: none. */
char *boot_snapshot_cache_lookup(const char *cache, const char *digest, const char *key_text,
				 guint memory_mb);

/* A new empty directory inside the cache (made if missing) for a snapshot to be written to. */
char *boot_snapshot_cache_begin(const char *cache, GError **error);

/* Writes key.txt into tmp, drops its disk images (a boot snapshot holds none), and renames it
 * to <cache>/<digest> under the cache's lock, unless another launch put that entry there first
 * (then tmp is removed). Then removes all but the newest `keep` entries. */
bool boot_snapshot_cache_commit(const char *cache, const char *tmp, const char *digest, const char *key_text,
				guint keep, GError **error);

/* Removes an entry or a temporary directory (flat: files only). Renamed aside first, so that
 * no reader sees half of it. */
void boot_snapshot_cache_remove(const char *path);

/* The monitor's state across its boots. */
typedef struct {
	char *cache;             /* NULL: --boot_snapshot=off */
	char *key_text, *digest; /* this boot's key */
	char *entry;             /* this boot restores from it (NULL: a cold boot) */
	bool take;               /* a cold boot on a key miss: snapshot at the point */
	bool skip_restore;       /* the last restore was refused: the next boot is cold */
} BootSnapshot;

/* Before a boot: computes the key and looks it up; returns the entry to restore from (owned by
 * bs) or NULL for a cold boot, logging why under the instance's name. */
const char *boot_snapshot_prepare(BootSnapshot *bs, const char *instance, const BootSnapshotInputs *in);

/* At the snapshot point: takes the snapshot when this boot should (bs->take); failures are
 * logged, never fatal. The caller lets the guest continue. */
void boot_snapshot_at_point(BootSnapshot *bs, VmmChild *vmm, const char *instance);

/* The VMM restoring bs->entry ended before the guest ran on: the entry goes, the next boot is
 * cold (and takes a new one). */
void boot_snapshot_refused(BootSnapshot *bs, const char *instance, const char *how);

void boot_snapshot_clear(BootSnapshot *bs);
