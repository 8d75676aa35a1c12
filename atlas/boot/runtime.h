/* The bare-metal runtime Atlas's kernels share (runtime.c): serial output,
 * PCI configuration space, BAR addresses, a pause and the way out. */
#ifndef ATLAS_BOOT_RUNTIME_H
#define ATLAS_BOOT_RUNTIME_H

#include <stdint.h>

void serial_init(void);
void put_char(char c);
void put_text(const char *s);
void put_hex(uint32_t v, int digits);
uint32_t pci_read(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off);
void pci_write(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off, uint32_t v);
/* The address a memory BAR decodes (64-bit BARs below 4 GiB only: no paging here). */
volatile void *pci_bar(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t index);
/* Memory decoding and bus mastering on, as a driver needs them. */
void pci_enable(uint32_t bus, uint32_t dev, uint32_t fn);
void atlas_delay_us(uint32_t us);
/* Memory for rings and buffers a device reads and writes (DMA): a bump
 * allocator over a static arena, zeroed; 0 when the arena is spent. */
void *dma_alloc(uint32_t bytes, uint32_t align);

/* A split virtqueue (virtio 1.x, 2.7): its three areas and where the
 * driver is in them. */
struct vq {
    volatile uint8_t *desc, *avail, *used;
    uint16_t size, next_desc, avail_idx, used_seen;
};
/* `size` descriptors (a power of two), their areas from dma_alloc. */
int vq_init(struct vq *q, uint16_t size);
/* Offer one chain of n buffers (addr, len; `writable` ones the device
 * fills); the caller then notifies the device. */
void vq_offer(struct vq *q, int n, const uint64_t *addr, const uint32_t *len, const uint16_t *writable);
/* Wait (at most `tries` microseconds) for the device to use a chain. */
int vq_used(struct vq *q, uint32_t tries);

/* An ARP request from `mac` (10.0.2.15, QEMU's user network's guest)
 * for 10.0.2.2 (its gateway), padded to the 60 bytes of a minimal frame. */
void arp_request(uint8_t frame[60], const uint8_t mac[6]);
/* Leave QEMU through isa-debug-exit with status (code << 1) | 1. */
void leave(uint8_t code);

#endif
