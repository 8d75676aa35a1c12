/* The bare-metal runtime of Atlas's kernels: a multiboot entry with a
 * stack, the first serial port, PCI configuration space through ports
 * 0xCF8/0xCFC, and QEMU's isa-debug-exit.  Nothing else: no interrupts,
 * no paging (memory is identity-mapped in protected mode). */
#include "runtime.h"

__attribute__((section(".multiboot"), used, aligned(4)))
static const uint32_t multiboot_header[3] = {0x1BADB002u, 0u, (uint32_t)-(0x1BADB002u)};

__asm__(
    ".section .bss\n"
    ".align 16\n"
    "stack_bottom: .skip 16384\n"
    "stack_top:\n"
    ".section .text\n"
    ".global _start\n"
    "_start:\n"
    "    mov $stack_top, %esp\n"
    "    call kmain\n"
    "1:  cli\n"
    "    hlt\n"
    "    jmp 1b\n");

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint32_t inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

#define COM1 0x3F8

void serial_init(void) {
    outb(COM1 + 1, 0x00);  /* no interrupts */
    outb(COM1 + 3, 0x80);  /* divisor follows */
    outb(COM1 + 0, 0x01);  /* 115200 baud */
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);  /* 8 bits, no parity, one stop bit */
    outb(COM1 + 2, 0xC7);  /* FIFO on, cleared */
    outb(COM1 + 4, 0x03);
}

void put_char(char c) {
    while (!(inb(COM1 + 5) & 0x20)) {
    }
    outb(COM1, (uint8_t)c);
}

void put_text(const char *s) {
    while (*s) put_char(*s++);
}

void put_hex(uint32_t v, int digits) {
    static const char d[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; i--) put_char(d[(v >> (4 * i)) & 15]);
}

static uint32_t config_address(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off) {
    return 0x80000000u | (bus << 16) | (dev << 11) | (fn << 8) | (off & 0xFC);
}

uint32_t pci_read(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off) {
    outl(0xCF8, config_address(bus, dev, fn, off));
    return inl(0xCFC);
}

void pci_write(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off, uint32_t v) {
    outl(0xCF8, config_address(bus, dev, fn, off));
    outl(0xCFC, v);
}

volatile void *pci_bar(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t index) {
    uint32_t low = pci_read(bus, dev, fn, 0x10 + 4 * index);
    return (volatile void *)(uintptr_t)(low & 0xFFFFFFF0u);
}

void pci_enable(uint32_t bus, uint32_t dev, uint32_t fn) {
    uint32_t command = pci_read(bus, dev, fn, 0x04);
    pci_write(bus, dev, fn, 0x04, (command & 0xFFFFu) | 0x6u);  /* memory space, bus master */
}

/* The PIT's channel 2 counts at 1.193182 MHz in real time (QEMU's too):
 * one-shot (mode 0) for `us` (at most 50 ms), its output (port 0x61 bit
 * 5) rising at the end.  Should it never rise, the spins bound the wait. */
static void pit_wait(uint32_t us) {
    uint32_t count = us * 1193u / 1000u + 1u;
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02u) | 0x01u)); /* speaker off, channel 2 gated on */
    outb(0x43, 0xB0);                                    /* channel 2, low then high byte, mode 0 */
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
    uint32_t spins = us * 1024u + 1024u;
    while (!(inb(0x61) & 0x20) && spins--) {
    }
}

static uint32_t tsc_low(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    (void)hi;
    return lo;
}

void atlas_delay_us(uint32_t us) {
    /* The time-stamp counter, its rate measured once against the PIT over
     * 10 ms: cheap to read, so short waits stay short.  Low halves only
     * (no 64-bit division here), a second at a time. */
    static uint32_t per_us;
    if (per_us == 0) {
        uint32_t start = tsc_low();
        pit_wait(10000);
        per_us = (tsc_low() - start) / 10000u;
        if (per_us == 0) per_us = 1;
    }
    while (us) {
        uint32_t chunk = us > 1000000u ? 1000000u : us;
        uint32_t start = tsc_low(), ticks = chunk * per_us;
        while (tsc_low() - start < ticks) {
        }
        us -= chunk;
    }
}

static uint8_t arena[1 << 16] __attribute__((aligned(4096)));
static uint32_t arena_used;

void *dma_alloc(uint32_t bytes, uint32_t align) {
    uint32_t at = (arena_used + align - 1) & ~(align - 1);
    if (at + bytes > sizeof arena) return 0;
    arena_used = at + bytes;
    for (uint32_t i = 0; i < bytes; i++) arena[at + i] = 0;
    return arena + at;
}

int vq_init(struct vq *q, uint16_t size) {
    q->size = size;
    q->desc = dma_alloc(16u * size, 16);
    q->avail = dma_alloc(6u + 2u * size, 2);
    q->used = dma_alloc(6u + 8u * size, 4);
    q->next_desc = q->avail_idx = q->used_seen = 0;
    return q->desc && q->avail && q->used;
}

void vq_offer(struct vq *q, int n, const uint64_t *addr, const uint32_t *len, const uint16_t *writable) {
    uint16_t head = q->next_desc;
    for (int i = 0; i < n; i++) {
        uint16_t k = (uint16_t)((head + i) % q->size);
        volatile uint8_t *d = q->desc + 16u * k;
        *(volatile uint32_t *)d = (uint32_t)addr[i];
        *(volatile uint32_t *)(d + 4) = (uint32_t)(addr[i] >> 32);
        *(volatile uint32_t *)(d + 8) = len[i];
        *(volatile uint16_t *)(d + 12) = (uint16_t)((writable[i] ? 2u : 0u) | (i + 1 < n ? 1u : 0u));  /* WRITE, NEXT */
        *(volatile uint16_t *)(d + 14) = (uint16_t)((head + i + 1) % q->size);
    }
    q->next_desc = (uint16_t)((head + n) % q->size);
    volatile uint16_t *avail = (volatile uint16_t *)q->avail;  /* flags, idx, ring[size] */
    avail[2 + q->avail_idx % q->size] = head;
    __sync_synchronize();  /* the ring entry before the index that shows it */
    avail[1] = ++q->avail_idx;
    __sync_synchronize();
}

int vq_used(struct vq *q, uint32_t tries) {
    volatile uint16_t *used = (volatile uint16_t *)q->used;  /* flags, idx, ring[size] of (id, len) */
    while (used[1] == q->used_seen && tries--) atlas_delay_us(1);
    if (used[1] == q->used_seen) return 0;
    q->used_seen++;
    return 1;
}

void arp_request(uint8_t frame[60], const uint8_t mac[6]) {
    static const uint8_t head[] = {0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01};
    static const uint8_t me[4] = {10, 0, 2, 15}, gateway[4] = {10, 0, 2, 2};
    int n = 0;
    for (int i = 0; i < 60; i++) frame[i] = 0;
    for (int i = 0; i < 6; i++) frame[n++] = 0xFF;  /* to everyone */
    for (int i = 0; i < 6; i++) frame[n++] = mac[i];
    for (unsigned i = 0; i < sizeof head; i++) frame[n++] = head[i];  /* ARP, Ethernet/IPv4, request */
    for (int i = 0; i < 6; i++) frame[n++] = mac[i];
    for (int i = 0; i < 4; i++) frame[n++] = me[i];
    n += 6;  /* the target's hardware address: unknown */
    for (int i = 0; i < 4; i++) frame[n++] = gateway[i];
}

void leave(uint8_t code) {
    outb(0xF4, code);
    for (;;) __asm__ volatile("cli; hlt");
}
