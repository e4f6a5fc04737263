/* A virtio-gpu in 2D mode over fake guest RAM, driven one command at a time through
 * gpu_handle_request: no PCI transport, no queues, no device thread. test-gpu, the gpu
 * fuzzer and bench/gpu-memory-attack drive the command handler through it. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/virtio/gpu_internal.h"
#include "devices/host.h"

struct fakegpu {
	struct vm_host *host; /* only its guest memory is used */
	struct virtio_gpu *g;
	struct virtq_chain *chain;
};

/* ram_bytes of fake RAM at guest address 0 (mapped lazily), nr_scanouts displays of
 * width x height; fb_dir: publish the scanouts as fb_dir/display<N>.fb (NULL: not). */
void fakegpu_init(struct fakegpu *f, uint64_t ram_bytes, unsigned int nr_scanouts, uint32_t width,
		  uint32_t height, const char *fb_dir);
/* Drops every resource, as a device reset does. */
void fakegpu_reset(struct fakegpu *f);
void fakegpu_free(struct fakegpu *f);

/* Runs one command made of the readable parts out[0, n_out) and a writable response buffer
 * of resp_len bytes; returns the response's type, 0 when none was written. */
uint32_t fakegpu_cmd(struct fakegpu *f, const struct iovec *out, unsigned int n_out, void *resp,
		     size_t resp_len);
/* The same with one readable part and a header-sized response. */
uint32_t fakegpu_cmd1(struct fakegpu *f, const void *req, size_t len);

/* Host address of guest RAM at gpa (asserts it is there). */
void *fakegpu_ram(struct fakegpu *f, uint64_t gpa, uint64_t len);
