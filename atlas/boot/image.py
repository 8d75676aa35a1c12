"""Stage 2 of `atlas boot`: a kernel holding exactly the drivers of the
devices a machine has.

`build` compiles the device descriptions (`intents/devices/*.ax`) for the
machine's probe, which gives the C stubs of the devices present and no
others (their BARs laid out as that machine has them), writes a driver
program that uses each stub (`DRIVERS`: reset the device, read what
identifies it, say so on the serial port), and links the runtime, the
stubs and the program into one multiboot kernel.  Nothing in it asks
which device it runs on: a device absent from the probe has no code in
the image at all.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..machine.probe import Probe
from ..pipeline import compile_files
from .discover import BootError, link

DEVICE_INTENTS = Path(__file__).resolve().parents[2] / "intents" / "devices"

# What the driver program does with each device it finds, in C over `d`
# (the stub's device, its BARs mapped).  Every line it prints starts with
# the device's name and PCI address.
DRIVERS = {
    "e1000": """
    ok = e1000_reset(&d);
    e1000_link_setup(&d);
    e1000_read_mac(&d, mac);
    say_mac(mac);
    uint32_t waited = 0;
    while (!e1000_link_up(&d) && ++waited < 1000u) atlas_delay_us(1000);
    put_text(e1000_link_up(&d) ? " link up" : " link down (gave up after 1000 ms)");
    /* receive first: 8 legacy receive descriptors (3.2.3) over 2 KiB buffers */
    static volatile uint32_t rx_ring[4 * 8] __attribute__((aligned(128)));
    static uint8_t rx_buffers[8][2048] __attribute__((aligned(16)));
    for (int i = 0; i < 8; i++) {
        rx_ring[4 * i] = (uint32_t)(uintptr_t)rx_buffers[i];
        rx_ring[4 * i + 1] = rx_ring[4 * i + 2] = rx_ring[4 * i + 3] = 0;
    }
    e1000_setup_rx(&d, (uint64_t)(uintptr_t)rx_ring, sizeof rx_ring);
    e1000_enable_rx(&d);
    e1000_set_rx_tail(&d, 7);
    /* send one frame: a legacy descriptor (3.3.3) in a ring of 8 */
    static volatile uint32_t ring[4 * 8] __attribute__((aligned(128)));
    static uint8_t frame[60] __attribute__((aligned(16)));
    arp_request(frame, mac);
    ring[0] = (uint32_t)(uintptr_t)frame;
    ring[1] = 0;
    ring[2] = 60u | ((0x01u | 0x02u | 0x08u) << 24);  /* EOP, insert FCS, report status */
    ring[3] = 0;
    e1000_setup_tx(&d, (uint64_t)(uintptr_t)ring, sizeof ring);
    e1000_enable_tx(&d);
    e1000_set_tx_tail(&d, 1);
    uint32_t tries = 0;
    while (!(ring[3] & 1u) && ++tries < 100000u) atlas_delay_us(1);
    put_text(ring[3] & 1u ? " sent arp" : " not sent");
    ok = ok && (ring[3] & 1u);
    /* the gateway's answer: descriptor 0 done (DD), an ARP reply in its buffer
       (QEMU's model holds received frames for a second after RCTL.EN is set) */
    tries = 0;
    while (!(rx_ring[3] & 1u) && ++tries < 3000u) atlas_delay_us(1000);
    if (rx_ring[3] & 1u) say_arp_reply(rx_buffers[0], rx_ring[2] & 0xFFFFu);
    else put_text(" nothing received (gave up after 3 s)");
""",
    "rtl8139": """
    rtl8139_power_on(&d);
    ok = rtl8139_reset(&d);
    rtl8139_read_mac(&d, mac);
    say_mac(mac);
    uint32_t waited = 0;
    while (!rtl8139_link_up(&d) && ++waited < 1000u) atlas_delay_us(1000);
    put_text(rtl8139_link_up(&d) ? " link up" : " link down (gave up after 1000 ms)");
    /* receive into an 8 KiB ring (+16 and one frame's spill, as the WRAP bit wants) */
    static uint8_t rx_ring[8192 + 16 + 1536] __attribute__((aligned(16)));
    rtl8139_set_rx_buffer(&d, (uint32_t)(uintptr_t)rx_ring);
    /* send one frame from transmit slot 0; TOK (bit 15) says it went */
    static uint8_t frame[60] __attribute__((aligned(16)));
    arp_request(frame, mac);
    rtl8139_enable(&d, true, true);
    rtl8139_configure_rx(&d, 0u, false);
    rtl8139_configure_tx(&d);
    bool queued = rtl8139_transmit(&d, 0u, (uint32_t)(uintptr_t)frame, 60u);
    uint32_t tries = 0;
    while (queued && !(rtl8139_tx_status(&d, 0u) & 0x8000u) && ++tries < 100000u) atlas_delay_us(1);
    bool sent = queued && (rtl8139_tx_status(&d, 0u) & 0x8000u);
    put_text(sent ? " sent arp" : " not sent");
    ok = ok && sent;
    /* each frame in the ring: a 4-byte header (status, length) then the frame */
    tries = 0;
    while (rtl8139_rx_empty(&d) && ++tries < 3000u) atlas_delay_us(1000);
    if (!rtl8139_rx_empty(&d)) say_arp_reply(rx_ring + 4, (uint32_t)(rx_ring[2] | (rx_ring[3] << 8)));
    else put_text(" nothing received (gave up after 3 s)");
""",
    "virtio_net": """
    ok = virtio_net_reset(&d) && virtio_net_negotiate(&d, 1u << 5, 0u);  /* VIRTIO_NET_F_MAC */
    if (ok && virtio_net_read_mac(&d, mac)) say_mac(mac);
    /* a queue pair (5.1.2: receiveq1 is 0, transmitq1 is 1); every frame
       goes behind a 12-byte virtio_net_hdr, all zero here (5.1.6) */
    static struct vq rx, tx;
    static uint8_t rx_buffer[12 + 1514] __attribute__((aligned(16)));
    static uint8_t header[12] __attribute__((aligned(16)));
    static uint8_t frame[60] __attribute__((aligned(16)));
    ok = ok && vq_init(&rx, 8) && vq_init(&tx, 8);
    ok = ok && virtio_net_setup_queue(&d, 0, 8, (uintptr_t)rx.desc, (uintptr_t)rx.avail, (uintptr_t)rx.used);
    ok = ok && virtio_net_setup_queue(&d, 1, 8, (uintptr_t)tx.desc, (uintptr_t)tx.avail, (uintptr_t)tx.used);
    virtio_net_driver_ok(&d);
    if (ok) {
        uint64_t in_addr[1] = {(uintptr_t)rx_buffer};
        uint32_t in_len[1] = {sizeof rx_buffer};
        uint16_t in_writable[1] = {1};
        vq_offer(&rx, 1, in_addr, in_len, in_writable);
        virtio_net_notify(&d, 0);
        arp_request(frame, mac);
        uint64_t out_addr[2] = {(uintptr_t)header, (uintptr_t)frame};
        uint32_t out_len[2] = {sizeof header, sizeof frame};
        uint16_t out_writable[2] = {0, 0};
        vq_offer(&tx, 2, out_addr, out_len, out_writable);
        virtio_net_notify(&d, 1);
        ok = vq_used(&tx, 1000000u);
        put_text(ok ? " sent arp" : " not sent");
        if (vq_used(&rx, 3000000u)) say_arp_reply(rx_buffer + 12, sizeof rx_buffer - 12);
        else put_text(" nothing received (gave up after 3 s)");
    }
""",
    "virtio_blk": """
    uint64_t sectors = 0;
    ok = virtio_blk_reset(&d) && virtio_blk_negotiate(&d, 0u, 0u) && virtio_blk_capacity(&d, &sectors);
    put_text(" capacity ");
    put_hex((uint32_t)(sectors >> 32), 8);
    put_hex((uint32_t)sectors, 8);
    /* read sector 0, then write it, each byte inverted, to sector 1 (5.2.6) */
    static struct vq q;
    ok = ok && vq_init(&q, 8);
    ok = ok && virtio_blk_setup_queue(&d, 0, 8, (uintptr_t)q.desc, (uintptr_t)q.avail, (uintptr_t)q.used);
    virtio_blk_driver_ok(&d);
    static struct { uint32_t type, reserved; uint64_t sector; } request __attribute__((aligned(16)));
    static uint8_t data[512] __attribute__((aligned(512)));
    static volatile uint8_t status;
    for (uint32_t k = 0; ok && k < 2; k++) {
        request.type = k;  /* 0: in (read), 1: out (write) */
        request.reserved = 0;
        request.sector = k;
        if (k == 1)
            for (int i = 0; i < 512; i++) data[i] = (uint8_t)~data[i];
        status = 0xFF;
        uint64_t addr[3] = {(uintptr_t)&request, (uintptr_t)data, (uintptr_t)&status};
        uint32_t len[3] = {16, 512, 1};
        uint16_t writable[3] = {0, k == 0, 1};
        vq_offer(&q, 3, addr, len, writable);
        virtio_blk_notify(&d, 0);
        ok = vq_used(&q, 1000000u) && status == 0;
        if (ok && k == 0) {
            put_text(" sector0 ");
            for (int i = 0; i < 8; i++) put_hex(data[i], 2);
        }
    }
    put_text(ok ? " wrote sector1" : "");
""",
    "virtio_rng": """
    ok = virtio_rng_reset(&d) && virtio_rng_negotiate(&d, 0u, 0u);
    /* 16 bytes from the entropy device through its one queue (5.4) */
    static struct vq q;
    static uint8_t bytes[16] __attribute__((aligned(16)));
    ok = ok && vq_init(&q, 8);
    ok = ok && virtio_rng_setup_queue(&d, 0, 8, (uintptr_t)q.desc, (uintptr_t)q.avail, (uintptr_t)q.used);
    virtio_rng_driver_ok(&d);
    uint64_t addr[1] = {(uintptr_t)bytes};
    uint32_t len[1] = {sizeof bytes};
    uint16_t writable[1] = {1};
    if (ok) {
        vq_offer(&q, 1, addr, len, writable);
        virtio_rng_notify(&d, 0);
        ok = vq_used(&q, 1000000u);
    }
    put_text(" random ");
    for (unsigned i = 0; i < sizeof bytes; i++) put_hex(bytes[i], 2);
""",
}

_BAR_FIELD = re.compile(r"volatile void \*bar(\d+);")


@dataclass(frozen=True)
class Built:
    """A kernel image and the devices it drives (name -> PCI addresses)."""

    image: Path
    devices: dict[str, list[str]]
    undriven: tuple[str, ...]  # stubs present with no driver program here


def build(probe: Probe, out: Path, intents: Path = DEVICE_INTENTS) -> Built:
    """The kernel for `probe`'s machine, written to `out`."""
    sources = sorted(intents.glob("*.ax"))
    if not sources:
        raise BootError(f"{intents}: no device descriptions (*.ax) to compile")
    with tempfile.TemporaryDirectory(prefix="atlas-boot-") as tmp:
        stubs = Path(tmp) / "stubs"
        compile_files([str(p) for p in sources], probe, stubs, backend="stubs")
        manifest = json.loads((stubs / "manifest.json").read_text())
        devices = {name: list(d["addresses"]) for name, d in manifest.get("devices", {}).items()}
        main = Path(tmp) / "main.c"
        main.write_text(program(devices, stubs))
        c_files = [stubs / f for f in manifest.get("c_files", [])]
        link([*c_files, main], [stubs], out)
    return Built(out, devices, tuple(sorted(n for n in devices if n not in DRIVERS)))


def program(devices: dict[str, list[str]], stubs: Path) -> str:
    """The driver program's C: each device at each of its addresses, in turn."""
    lines = [
        "/* Written by atlas boot build: drive each device this machine has. */",
        "#include <stdbool.h>",
        '#include "runtime.h"',
        *[f'#include "{name}.h"' for name in sorted(devices)],
        "",
        "__attribute__((unused)) static void say_mac(const uint8_t *mac) {",
        '    put_text(" mac ");',
        "    for (int i = 0; i < 6; i++) {",
        "        put_hex(mac[i], 2);",
        "        if (i < 5) put_char(':');",
        "    }",
        "}",
        "",
        "__attribute__((unused)) static void say_arp_reply(const uint8_t *frame, uint32_t length) {",
        "    /* an ARP reply (op 2) of at least 42 bytes: from whom */",
        "    if (length >= 42 && frame[12] == 0x08 && frame[13] == 0x06 && frame[21] == 2) {",
        '        put_text(" got arp reply from");',
        "        say_mac(frame + 6);",
        "    } else {",
        '        put_text(" got another frame");',
        "    }",
        "}",
        "",
    ]
    calls = []
    for name in sorted(devices):
        for k, address in enumerate(devices[name]):
            bus, dev, fn = _bdf(address)
            header = (stubs / f"{name}.h").read_text()
            bars = [int(b) for b in _BAR_FIELD.findall(header)]
            init = ", ".join(f".bar{b} = pci_bar({bus}, {dev}, {fn}, {b})" for b in bars)
            body = DRIVERS.get(name, "    ok = true;  /* no driver program for it yet */\n")
            fn_name = f"drive_{name}_{k}"
            lines += [
                f"static void {fn_name}(void) {{",
                f"    pci_enable({bus}, {dev}, {fn});",
                f"    struct {name} d = {{{init}}};",
                "    uint8_t mac[6] = {0};",
                "    (void)mac;",
                "    bool ok = true;",
                f'    put_text("{name} {address[5:]}");',
                body.strip("\n"),
                '    put_text(ok ? " ok\\n" : " failed\\n");',
                "}",
                "",
            ]
            calls.append(f"    {fn_name}();")
    lines += ["void kmain(void) {", "    serial_init();", '    put_text("atlas-drivers 1\\n");', *calls]
    lines += ['    put_text("end\\n");', "    leave(0x31);", "}", ""]
    return "\n".join(lines)


def _bdf(address: str) -> tuple[int, int, int]:
    """'0000:00:03.0' -> (0, 3, 0)."""
    m = re.fullmatch(r"[0-9a-f]{4}:([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])", address)
    if m is None:
        raise BootError(f"not a PCI address: {address!r}")
    return int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
