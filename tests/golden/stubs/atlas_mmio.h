/* Register access for the driver stubs Atlas generates.
 *
 * By default an access is one volatile load or store of the register's
 * width at base + offset, where base is where the BAR is mapped.  Define
 * ATLAS_MMIO_HOOKS to supply the accessors yourself instead (a kernel's
 * readl/writel, a tracer, a simulated register file).  atlas_delay_us, the
 * pause between the tries of a poll, always comes from the platform. */
#ifndef ATLAS_MMIO_H
#define ATLAS_MMIO_H

#include <stdint.h>

void atlas_delay_us(uint32_t us);

#ifdef ATLAS_MMIO_HOOKS
uint8_t atlas_read8(volatile void *base, uint32_t offset);
void atlas_write8(volatile void *base, uint32_t offset, uint8_t value);
uint16_t atlas_read16(volatile void *base, uint32_t offset);
void atlas_write16(volatile void *base, uint32_t offset, uint16_t value);
uint32_t atlas_read32(volatile void *base, uint32_t offset);
void atlas_write32(volatile void *base, uint32_t offset, uint32_t value);
uint64_t atlas_read64(volatile void *base, uint32_t offset);
void atlas_write64(volatile void *base, uint32_t offset, uint64_t value);
#else
static inline uint8_t atlas_read8(volatile void *base, uint32_t offset)
{
    return *(volatile uint8_t *)((volatile uint8_t *)base + offset);
}

static inline void atlas_write8(volatile void *base, uint32_t offset, uint8_t value)
{
    *(volatile uint8_t *)((volatile uint8_t *)base + offset) = value;
}
static inline uint16_t atlas_read16(volatile void *base, uint32_t offset)
{
    return *(volatile uint16_t *)((volatile uint8_t *)base + offset);
}

static inline void atlas_write16(volatile void *base, uint32_t offset, uint16_t value)
{
    *(volatile uint16_t *)((volatile uint8_t *)base + offset) = value;
}
static inline uint32_t atlas_read32(volatile void *base, uint32_t offset)
{
    return *(volatile uint32_t *)((volatile uint8_t *)base + offset);
}

static inline void atlas_write32(volatile void *base, uint32_t offset, uint32_t value)
{
    *(volatile uint32_t *)((volatile uint8_t *)base + offset) = value;
}
static inline uint64_t atlas_read64(volatile void *base, uint32_t offset)
{
    return *(volatile uint64_t *)((volatile uint8_t *)base + offset);
}

static inline void atlas_write64(volatile void *base, uint32_t offset, uint64_t value)
{
    *(volatile uint64_t *)((volatile uint8_t *)base + offset) = value;
}
#endif

#endif
