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
/* An ARP request from `mac` (10.0.2.15, QEMU's user network's guest)
 * for 10.0.2.2 (its gateway), padded to the 60 bytes of a minimal frame. */
void arp_request(uint8_t frame[60], const uint8_t mac[6]);
/* Leave QEMU through isa-debug-exit with status (code << 1) | 1. */
void leave(uint8_t code);

#endif
