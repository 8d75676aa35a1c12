/* Atlas's discovery kernel (stage 1 of `atlas boot`): booted by a
 * multiboot loader, it reports on the first serial port what the machine
 * has and exits through QEMU's isa-debug-exit port.  Lines:
 *
 *   atlas-discover 1
 *   cpuid LEAF EAX EBX ECX EDX          leaves 0, 1, 7 and 0x80000000..4
 *   pci BB:DD.F CFG MASK0 .. MASK5      the 256 bytes of configuration
 *                                       space, then each BAR's size mask
 *                                       (all ones written, read back)
 *   end COUNT
 *
 * It asks nothing else of the machine: no interrupts, no memory map.
 * The entry, the serial port and PCI access are runtime.c's. */

#include "runtime.h"

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d) {
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static void report_cpuid(uint32_t leaf) {
    uint32_t a, b, c, d;
    cpuid(leaf, &a, &b, &c, &d);
    put_text("cpuid ");
    put_hex(leaf, 8);
    uint32_t r[4] = {a, b, c, d};
    for (int i = 0; i < 4; i++) {
        put_char(' ');
        put_hex(r[i], 8);
    }
    put_char('\n');
}

static void report_function(uint32_t bus, uint32_t dev, uint32_t fn) {
    put_text("pci ");
    put_hex(bus, 2);
    put_char(':');
    put_hex(dev, 2);
    put_char('.');
    put_hex(fn, 1);
    put_char(' ');
    for (uint32_t off = 0; off < 256; off += 4) {
        uint32_t v = pci_read(bus, dev, fn, off);
        for (int i = 0; i < 4; i++) put_hex((v >> (8 * i)) & 0xFF, 2);  /* bytes in memory order */
    }
    uint32_t type = (pci_read(bus, dev, fn, 0x0C) >> 16) & 0x7F;
    int bars = type == 0 ? 6 : type == 1 ? 2 : 0;
    uint32_t command = pci_read(bus, dev, fn, 0x04);
    pci_write(bus, dev, fn, 0x04, command & ~3u);  /* no decoding while a BAR is sized */
    for (int i = 0; i < 6; i++) {
        uint32_t mask = 0;
        if (i < bars) {
            uint32_t off = 0x10 + 4 * (uint32_t)i;
            uint32_t was = pci_read(bus, dev, fn, off);
            pci_write(bus, dev, fn, off, 0xFFFFFFFFu);
            mask = pci_read(bus, dev, fn, off);
            pci_write(bus, dev, fn, off, was);
        }
        put_char(' ');
        put_hex(mask, 8);
    }
    pci_write(bus, dev, fn, 0x04, command);
    put_char('\n');
}

void kmain(void) {
    serial_init();
    put_text("atlas-discover 1\n");
    uint32_t a, b, c, d;
    cpuid(0, &a, &b, &c, &d);
    uint32_t top = a;
    for (uint32_t leaf = 0; leaf <= 7 && leaf <= top; leaf++)
        if (leaf == 0 || leaf == 1 || leaf == 7) report_cpuid(leaf);
    cpuid(0x80000000u, &a, &b, &c, &d);
    for (uint32_t leaf = 0x80000000u; leaf <= 0x80000004u && leaf <= a; leaf++) report_cpuid(leaf);
    uint32_t count = 0;
    for (uint32_t bus = 0; bus < 256; bus++) {
        for (uint32_t dev = 0; dev < 32; dev++) {
            if ((pci_read(bus, dev, 0, 0) & 0xFFFF) == 0xFFFF) continue;
            uint32_t functions = (pci_read(bus, dev, 0, 0x0C) >> 16) & 0x80 ? 8 : 1;
            for (uint32_t fn = 0; fn < functions; fn++) {
                if ((pci_read(bus, dev, fn, 0) & 0xFFFF) == 0xFFFF) continue;
                report_function(bus, dev, fn);
                count++;
            }
        }
    }
    put_text("end ");
    put_hex(count, 4);
    put_char('\n');
    leave(0x31);  /* QEMU exits with (0x31 << 1) | 1 = 99 */
}
