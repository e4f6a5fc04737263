/* launcher/assemble.h — turns a directory of Android images into per-instance disks, as
 * Cuttlefish's assemble_cvd does: a GPT composite disk over the input files (never copied), a
 * qcow2 overlay on top per instance, and manifest.json describing all of it.
 *
 * Layout under home (normally $HOME):
 *   cuttlefish/assembly/            expanded sparse inputs, manifest.json, manifest.cache
 *   cuttlefish/instances/cvd-N/     os_composite.vmdk (+ its GPT pieces), overlay.qcow2 and the
 *                                   per-instance data images it made: userdata, misc, metadata
 *   cuttlefish_assembly -> cuttlefish/assembly, cuttlefish_runtime -> cuttlefish/instances/cvd-B
 *
 * All inputs are validated before anything is written, and every file assemble makes is built
 * under a temporary name and renamed into place only after every input has passed, so a bad
 * input leaves the previous assembly as it was. Re-assembling unchanged inputs writes nothing. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define ASSEMBLE_MAX_INSTANCE 128u

/* Cuttlefish's --data_policy. The per-instance userdata is a blank ext4 of blank_data_image_mb
 * MiB made by mke2fs (launcher/data_image.h); the guest's writes go to the qcow2 overlay, which
 * --resume keeps and powerwash drops. */
typedef enum {
	ASSEMBLE_DATA_USE_EXISTING,  /* the input's userdata, else the instance's; a blank one if neither */
	ASSEMBLE_DATA_ALWAYS_CREATE, /* a fresh blank userdata every run (a new overlay with it) */
	ASSEMBLE_DATA_RESIZE_UP_TO,  /* grow a smaller userdata to blank_data_image_mb, keeping the
					guest's data (the overlay's view of it) */
	ASSEMBLE_DATA_CREATE_IF_MISSING, /* as use_existing, and an own userdata that holds no file
					    system is made anew */
} AssembleDataPolicy;

typedef struct {
	const char *system_image_dir;
	const char *home;           /* where cuttlefish/ lives */
	const guint *instance_nums; /* 1..ASSEMBLE_MAX_INSTANCE, distinct */
	guint n_instances;
	uint64_t blank_data_image_mb;
	AssembleDataPolicy data_policy;
	bool resume;   /* false: recreate every overlay (powerwash) */
	bool progress; /* progress lines on stderr for long steps */
} AssembleOptions;

/* What a run did, for the summary line and tests. */
typedef struct {
	guint images_expanded; /* sparse inputs expanded */
	guint images_created;  /* blank userdata/misc/metadata made (or resized) */
	guint composite_files; /* composite descriptor/GPT files (re)written, all instances */
	guint overlays_created;
	guint files_hashed; /* files read for the manifest (not served by the hash cache) */
	bool manifest_changed;
} AssembleStats;

bool assemble_parse_data_policy(const char *text, AssembleDataPolicy *out);
const char *assemble_data_policy_name(AssembleDataPolicy policy);

/* Does the whole assembly. Errors are one line naming the file and what is wrong. */
bool assemble_device(const AssembleOptions *opts, AssembleStats *stats, GError **error);

/* powerwash_cvd's assembly: instance instance_num's user data made anew (--resume=false), the
 * rest as assemble_device() keeps it. */
bool assemble_powerwash(const char *system_image_dir, const char *home, guint instance_num,
			guint64 blank_data_image_mb, AssembleDataPolicy data_policy, GError **error);
