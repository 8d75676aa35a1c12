"""Bare metal, stage 1: the discovery kernel's serial log read as a probe,
and (where QEMU is installed) the kernel booted with different devices."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas.boot import discover
from atlas.machine.probe import load_probe

LOG = Path(__file__).parent / "fixtures" / "boot" / "e1000-rng.log"


def probe_of(text: str):
    return discover.probe_from_serial(text, "serial.log")


def by_id(p) -> dict[str, object]:
    return {f"{d.vendor}:{d.device}": d for d in p.pci}


def test_a_log_is_the_machine_it_describes():
    p = probe_of(LOG.read_text())
    devices = by_id(p)
    e1000 = devices["0x8086:0x100e"]
    assert e1000.device_class == "0x020000" and e1000.address == "0000:00:03.0"
    # the 82540EM's register window (128 KiB) and its I/O ports (64), sized from their masks
    assert [(b.index, b.kind, b.size) for b in e1000.bars] == [(0, "mem", 131072), (1, "io", 64)]
    rng = devices["0x1af4:0x1044"]  # virtio-rng, modern: its structures from the capability list
    assert rng.virtio is not None and sorted(v.type for v in rng.virtio) == [1, 2, 3, 4]
    (wide,) = [b for b in rng.bars if b.wide]
    assert wide.index == 4 and wide.size == 16384 and wide.prefetchable
    assert p.cpu.arch == "x86_64" and {"lm", "sse2", "cx16"} <= set(p.cpu.features)
    assert p.cpu.vendor == "AuthenticAMD" and "QEMU" in p.cpu.model_name


def test_the_probe_round_trips_through_its_file(tmp_path):
    from atlas.machine.probe import write_probe

    p = probe_of(LOG.read_text())
    write_probe(p, tmp_path / "p.json")
    assert load_probe(tmp_path / "p.json") == p


@pytest.mark.parametrize(
    "cut, message",
    [
        (lambda t: t[: t.index("pci 00:03.0") + 40], "stops mid-line"),
        (lambda t: t[: t.index("end ")], "stops before its `end` line"),
        (lambda t: t.replace("end 0007", "end 0009"), "holds 7 PCI functions, its end line says 9"),
        (lambda t: t.replace("pci 00:02.0", "pci 00:02.9"), r"serial.log:\d+: not a line of the discovery kernel"),
        (lambda t: "Booting from ROM...\n", "not the discovery kernel's log"),
    ],
)
def test_a_log_that_is_not_whole_is_refused_with_its_place(cut, message):
    with pytest.raises(discover.BootError, match=message):
        probe_of(cut(LOG.read_text()))


def test_probe_from_serial_on_the_command_line(tmp_path):
    from atlas.tools.cli import main

    out = tmp_path / "p.json"
    done = CliRunner().invoke(main, ["probe", "--from-serial", str(LOG), "-o", str(out)])
    assert done.exit_code == 0, done.output
    assert load_probe(out) == probe_of(LOG.read_text())
    bad = tmp_path / "bad.log"
    bad.write_text("atlas-discover 1\ngarbage\n")
    done = CliRunner().invoke(main, ["probe", "--from-serial", str(bad)])
    assert done.exit_code != 0 and "bad.log:2: not a line of the discovery kernel" in done.output
    assert "Traceback" not in done.output


needs_qemu = pytest.mark.skipif(
    shutil.which(discover.QEMU) is None or shutil.which("gcc") is None or shutil.which("ld") is None,
    reason="booting needs QEMU (apt-get install qemu-system-x86), gcc and ld",
)

NET = "-device e1000,netdev=n0,mac=52:54:00:12:34:56 -netdev user,id=n0"
VIRTIO_NET = "-device virtio-net-pci,disable-legacy=on,netdev=n1 -netdev user,id=n1"
VIRTIO_RNG = "-device virtio-rng-pci,disable-legacy=on"
VIRTIO_NET_MAC = "-device virtio-net-pci,disable-legacy=on,netdev=n1,mac=52:54:00:01:02:03 -netdev user,id=n1"


@needs_qemu
def test_two_machines_are_told_apart_by_what_they_hold():
    image = discover.kernel()
    one = discover.boot(image, discover.Options((NET, VIRTIO_NET)))
    two = discover.boot(image, discover.Options((VIRTIO_RNG,)))
    assert one.status == two.status == discover.EXIT_DONE
    a, b = by_id(probe_of(one.log)), by_id(probe_of(two.log))
    assert {"0x8086:0x100e", "0x1af4:0x1041"} <= set(a) and not {"0x8086:0x100e", "0x1af4:0x1041"} & set(b)
    assert "0x1af4:0x1044" in b and "0x1af4:0x1044" not in a
    net = a["0x1af4:0x1041"]
    assert net.virtio is not None and {v.type for v in net.virtio} == {1, 2, 3, 4}
    # every structure lies inside the BAR it names
    sizes = {bar.index: bar.size for bar in net.bars}
    assert all(v.offset + v.length <= sizes[v.bar] for v in net.virtio)


@needs_qemu
def test_atlas_boot_discover_writes_the_probe_and_the_log(tmp_path):
    from atlas.tools.cli import main

    out, log = tmp_path / "p.json", tmp_path / "serial.log"
    done = CliRunner().invoke(main, ["boot", "discover", "--device", NET, "-o", str(out), "--log", str(log)])
    assert done.exit_code == 0, done.output
    assert "0x8086:0x100e" in done.output
    assert load_probe(out) == probe_of(log.read_text())
    assert json.loads(out.read_text())["host"]["os"] == "bare metal"


@needs_qemu
def test_a_device_qemu_refuses_is_a_one_line_error():
    from atlas.tools.cli import main

    done = CliRunner().invoke(main, ["boot", "discover", "--device", "-device no-such-device"])
    assert done.exit_code != 0 and "QEMU failed" in done.output and "Traceback" not in done.output


# ---------------------------------------------------------------- stage 2: the drivers


def _symbols(image: Path) -> set[str]:
    import subprocess

    out = subprocess.run(["nm", str(image)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1] for line in out.splitlines() if line.split()[1:2] in (["T"], ["t"])}


RTL = "-device rtl8139,netdev=n2,mac=52:54:00:ab:cd:ef -netdev user,id=n2"


def _blk(disk: Path) -> str:
    return f"-device virtio-blk-pci,disable-legacy=on,drive=d0 -drive file={disk},if=none,id=d0,format=raw"


@needs_qemu
@pytest.mark.skipif(shutil.which("nm") is None, reason="needs nm (binutils)")
def test_each_machine_gets_the_drivers_of_its_devices_and_they_drive_them(tmp_path):
    from atlas.boot import image

    disk = tmp_path / "disk.img"
    first = bytes(range(256)) * 2  # sector 0, which the guest reads
    disk.write_bytes(first + bytes((3 << 20) - 512))  # 3 MiB: 6144 sectors
    e1000_pcap, rtl_pcap, virtio_pcap = (tmp_path / f"{n}.pcap" for n in ("e1000", "rtl8139", "virtio_net"))
    dump = "-object filter-dump,id=f{0},netdev={0},file={1}"
    machines = {
        "net": [NET + " " + dump.format("n0", e1000_pcap), VIRTIO_NET_MAC + " " + dump.format("n1", virtio_pcap)],
        "other": [RTL + " " + dump.format("n2", rtl_pcap), _blk(disk)],
    }
    logs, symbols = {}, {}
    for name, devices in machines.items():
        probe = probe_of(discover.boot(discover.kernel(), discover.Options(tuple(devices))).log)
        built = image.build(probe, tmp_path / f"{name}.elf")
        symbols[name] = _symbols(built.image)
        run = discover.boot(built.image, discover.Options(tuple(devices)))
        assert run.status == discover.EXIT_DONE, run.log
        logs[name] = run.log
    # only what is present: the stubs of the machine's own devices, no others
    assert {"e1000_reset", "virtio_net_read_mac"} <= symbols["net"]
    assert not any(s.startswith(("rtl8139_", "virtio_blk_")) for s in symbols["net"])
    assert {"rtl8139_reset", "virtio_blk_capacity"} <= symbols["other"]
    assert not any(s.startswith(("e1000_", "virtio_net_")) for s in symbols["other"])
    # checked from outside: the MACs QEMU was given, the disk's size
    reply = " got arp reply from mac 52:55:0a:00:02:02 ok"  # QEMU's user network's gateway answering
    assert "e1000 00:" in logs["net"] and "mac 52:54:00:12:34:56 link up sent arp" + reply in logs["net"]
    assert "virtio_net" in logs["net"] and logs["net"].count(" ok\n") == 2
    assert "mac 52:54:00:ab:cd:ef link up sent arp" + reply in logs["other"]
    assert f"capacity {(3 << 20) // 512:016x} sector0 0001020304050607 wrote sector1 ok" in logs["other"]
    # the sector it wrote, in the backing file: sector 0, each byte inverted
    assert disk.read_bytes()[512:1024] == bytes(255 - b for b in first)
    # each network card sent its ARP request onto the wire, and QEMU's user network answered it
    assert "mac 52:54:00:01:02:03 sent arp" + reply in logs["net"]  # virtio-net, through its queue pair
    for pcap, mac in ((e1000_pcap, "525400123456"), (rtl_pcap, "525400abcdef"), (virtio_pcap, "525400010203")):
        sent = [f for f in _frames(pcap) if f[6:12].hex() == mac]
        assert sent and sent[0][12:14] == b"\x08\x06" and sent[0][20:22] == b"\x00\x01"  # ARP request
        assert sent[0][38:42] == bytes([10, 0, 2, 2])
        replies = [f for f in _frames(pcap) if f[0:6].hex() == mac and f[20:22] == b"\x00\x02"]
        assert replies, "no ARP reply seen: the frame was not a valid one"


def _frames(pcap: Path) -> list[bytes]:
    """The frames of a pcap file (QEMU's filter-dump: little-endian, microseconds)."""
    data = pcap.read_bytes()
    assert data[:4] == bytes.fromhex("d4c3b2a1"), "not a little-endian pcap"
    out, at = [], 24
    while at + 16 <= len(data):
        length = int.from_bytes(data[at + 8 : at + 12], "little")
        out.append(data[at + 16 : at + 16 + length])
        at += 16 + length
    return out


@needs_qemu
def test_atlas_boot_build_and_run(tmp_path):
    from atlas.tools.cli import main

    probe, kernel = tmp_path / "p.json", tmp_path / "k.elf"
    runner = CliRunner()
    assert runner.invoke(main, ["boot", "discover", "--device", RTL, "-o", str(probe)]).exit_code == 0
    done = runner.invoke(main, ["boot", "build", "--hw", str(probe), "-o", str(kernel)])
    assert done.exit_code == 0 and "drivers for rtl8139" in done.output, done.output
    done = runner.invoke(main, ["boot", "run", str(kernel), "--device", RTL])
    assert done.exit_code == 0 and "rtl8139 00:" in done.output and "mac 52:54:00:ab:cd:ef" in done.output


@needs_qemu
def test_the_entropy_device_gives_other_bytes_at_each_boot(tmp_path):
    import re

    from atlas.boot import image

    probe = probe_of(discover.boot(discover.kernel(), discover.Options((VIRTIO_RNG,))).log)
    built = image.build(probe, tmp_path / "rng.elf")
    seen = []
    for _ in range(2):
        run = discover.boot(built.image, discover.Options((VIRTIO_RNG,)))
        m = re.search(r"virtio_rng 00:..\.\d random ([0-9a-f]{32}) ok", run.log)
        assert m, run.log
        seen.append(m.group(1))
    assert seen[0] != seen[1] and seen[0] != "0" * 32


@needs_qemu
def test_a_link_that_never_comes_up_ends_in_waits_that_give_up(tmp_path):
    """QEMU started with the card's link down (over QMP, before the guest
    runs): the driver's bounded waits give up and say so, and the boot ends."""
    from atlas.boot import image

    probe = probe_of(discover.boot(discover.kernel(), discover.Options((NET,))).log)
    built = image.build(probe, tmp_path / "net.elf")
    run = discover.boot(built.image, discover.Options((NET,), links_down=("n0",), timeout=60))
    assert run.status == discover.EXIT_DONE
    assert "link down (gave up after 1000 ms)" in run.log and "nothing received (gave up after 3 s)" in run.log
    assert run.log.rstrip().endswith("end")


@needs_qemu
def test_a_guest_that_runs_past_its_time_is_stopped(tmp_path):
    # a kernel built for a card that is not there waits on registers that never answer;
    # given a second, the boot is stopped and that is an error, not a wait forever
    from atlas.boot import image

    probe = probe_of(discover.boot(discover.kernel(), discover.Options((NET,))).log)
    built = image.build(probe, tmp_path / "net.elf")
    with pytest.raises(discover.BootError, match="did not finish within 1 s"):
        discover.boot(built.image, discover.Options(timeout=1))
