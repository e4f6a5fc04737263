#!/bin/sh
# guest-kit: the serial payload linked as a 32-bit ELF (PVH ELF32) under sepia-vmm.
exec "$(dirname "$0")/run-payload.sh" serial-elf32
