/* images/vbmeta.h — Android Verified Boot 2.0 vbmeta images: header and descriptors.
 *
 * Format facts (AOSP external/avb, avb_vbmeta_image.h / avb_descriptor.h / avb_footer.h), all
 * big-endian: a 256-byte header ("AVB0", required libavb version, sizes of the authentication
 * and auxiliary blocks (multiples of 64), algorithm, offsets/sizes of hash and signature inside
 * the authentication block and of public key, key metadata and descriptors inside the auxiliary
 * block, rollback index, flags, rollback index location, release string), then the two blocks.
 * Descriptors are {u64 tag, u64 num_bytes_following (multiple of 8)} followed by a fixed part
 * and variable data. A partition carrying its own vbmeta ends in a 64-byte "AVBf" footer.
 *
 * This module parses and bounds-checks; it does not verify signatures (a later step). It
 * exposes the algorithm, and the hash, signature and public key bytes for that step. */
#pragma once

#include "images/common.h"

#define SEPIA_AVB_MAGIC               "AVB0"
#define SEPIA_AVB_FOOTER_MAGIC        "AVBf"
#define SEPIA_AVB_HEADER_SIZE         256
#define SEPIA_AVB_FOOTER_SIZE         64
#define SEPIA_AVB_RELEASE_STRING_SIZE 48
#define SEPIA_AVB_MAX_VBMETA_SIZE     (64 * 1024) /* libavb's limit for one vbmeta image */
#define SEPIA_AVB_VERSION_MAJOR       1

typedef enum {
	SEPIA_AVB_ALGORITHM_NONE = 0,
	SEPIA_AVB_ALGORITHM_SHA256_RSA2048 = 1,
	SEPIA_AVB_ALGORITHM_SHA256_RSA4096 = 2,
	SEPIA_AVB_ALGORITHM_SHA256_RSA8192 = 3,
	SEPIA_AVB_ALGORITHM_SHA512_RSA2048 = 4,
	SEPIA_AVB_ALGORITHM_SHA512_RSA4096 = 5,
	SEPIA_AVB_ALGORITHM_SHA512_RSA8192 = 6,
} SepiaAvbAlgorithm;

typedef enum {
	SEPIA_AVB_DESCRIPTOR_PROPERTY = 0,
	SEPIA_AVB_DESCRIPTOR_HASHTREE = 1,
	SEPIA_AVB_DESCRIPTOR_HASH = 2,
	SEPIA_AVB_DESCRIPTOR_KERNEL_CMDLINE = 3,
	SEPIA_AVB_DESCRIPTOR_CHAIN_PARTITION = 4,
} SepiaAvbDescriptorTag;

/* One descriptor. Which members are set depends on tag; the rest are 0/NULL. */
typedef struct {
	uint64_t tag;    /* SepiaAvbDescriptorTag, or an unknown tag kept as raw bytes */
	uint64_t offset; /* of the descriptor inside the vbmeta image */
	GBytes *raw;     /* the whole descriptor, header included */
	uint32_t flags;  /* hash, hashtree, chain, kernel cmdline */

	/* HASH and HASHTREE */
	char *partition_name; /* also CHAIN_PARTITION */
	char *hash_algorithm; /* e.g. "sha256" */
	uint64_t image_size;
	GBytes *salt;
	GBytes *digest; /* HASH: digest; HASHTREE: root digest (may be empty: persistent digest) */
	/* HASHTREE only */
	uint32_t dm_verity_version, data_block_size, hash_block_size, fec_num_roots;
	uint64_t tree_offset, tree_size, fec_offset, fec_size;
	/* CHAIN_PARTITION */
	uint32_t rollback_index_location;
	GBytes *public_key;
	/* KERNEL_CMDLINE */
	char *kernel_cmdline;
	/* PROPERTY */
	char *key;
	GBytes *value; /* without its trailing NUL */
} SepiaAvbDescriptor;

typedef struct {
	uint32_t required_libavb_version_major, required_libavb_version_minor;
	uint64_t authentication_data_block_size, auxiliary_data_block_size;
	uint32_t algorithm_type; /* SepiaAvbAlgorithm */
	uint64_t rollback_index;
	uint32_t flags, rollback_index_location;
	char *release_string;
	uint64_t size; /* header + both blocks */

	/* Byte ranges, as absolute offsets inside the vbmeta image, and their bytes. */
	uint64_t hash_offset, hash_size;
	uint64_t signature_offset, signature_size;
	uint64_t public_key_offset, public_key_size;
	uint64_t public_key_metadata_offset, public_key_metadata_size;
	uint64_t descriptors_offset, descriptors_size;
	GBytes *hash, *signature, *public_key, *public_key_metadata;
	GBytes *image; /* the whole vbmeta image (header and blocks) */

	GPtrArray *descriptors; /* SepiaAvbDescriptor*, in order */

	/* Set when the vbmeta came from a partition's AVB footer. */
	bool has_footer;
	uint64_t footer_original_image_size, footer_vbmeta_offset, footer_vbmeta_size;
} SepiaVbmeta;

void sepia_vbmeta_free(SepiaVbmeta *vb);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SepiaVbmeta, sepia_vbmeta_free)

/* Parses a vbmeta image at the start of the buffer (trailing bytes, e.g. partition padding, are
 * allowed, as in libavb). */
SepiaVbmeta *sepia_vbmeta_parse_buffer(const void *data, gsize len, const char *name, GError **error);
/* Parses a file that is a vbmeta image (vbmeta.img) or that ends in an AVB footer (boot.img
 * after add_hash_footer, system.img after add_hashtree_footer). */
SepiaVbmeta *sepia_vbmeta_parse_file(const char *path, GError **error);
/* Parses a partition image from memory in the same way as sepia_vbmeta_parse_file. */
SepiaVbmeta *sepia_vbmeta_parse_partition_buffer(const void *data, gsize len, const char *name,
						 GError **error);

const char *sepia_avb_algorithm_name(uint32_t algorithm_type); /* "SHA256_RSA4096", or NULL */
/* The first hash descriptor for a partition, or NULL. */
const SepiaAvbDescriptor *sepia_vbmeta_find_hash(const SepiaVbmeta *vb, const char *partition);
