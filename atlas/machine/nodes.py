"""The machines of a Ray cluster, for the parts of Atlas that span them
(the market's daemons, the search's measurements).  Ray is an optional
extra (`pip install 'atlas-compiler[cluster]'`); nothing here imports it
before it is asked for.

A node is named by Ray's node id.  `on(node)` places an actor there and
nowhere else; `pack` and `unpack` move a folder (an artefact) between
nodes as bytes, through Ray's object store."""

from __future__ import annotations

import io
import socket
import tarfile
from pathlib import Path

INSTALL_HINT = "pip install 'atlas-compiler[cluster]'"


class ClusterError(RuntimeError):
    pass


def ray_module():
    """Ray, or a ClusterError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"spanning machines needs Ray: {INSTALL_HINT}") from None
    return ray


def connect(address: str | None = "auto") -> None:
    """Join a running Ray cluster (`auto`: the one this machine belongs
    to; None: a private one on this machine); nothing if joined already."""
    ray = ray_module()
    if ray.is_initialized():
        return
    if address not in (None, "auto") and not address.startswith("ray://"):
        _reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    except ConnectionError as exc:
        raise ClusterError(f"cannot reach a Ray cluster at {address}: {exc}") from None


def _reachable(address: str) -> None:
    """HOST:PORT answers, else a ClusterError at once (Ray itself retries
    an address that does not answer for minutes)."""
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=5).close()
    except ValueError:
        raise ClusterError(f"--ray {address}: expected HOST:PORT (as `ray start --head` printed it) or auto") from None
    except OSError as exc:
        raise ClusterError(f"cannot reach a Ray cluster at {address}: {exc.strerror or exc}") from None


def alive() -> list[str]:
    """The node ids of the cluster's living nodes, this process's first."""
    ray = ray_module()
    here = ray.get_runtime_context().get_node_id()
    return sorted((n["NodeID"] for n in ray.nodes() if n["Alive"]), key=lambda i: (i != here, i))


def is_alive(node: str) -> bool:
    return any(n["NodeID"] == node and n["Alive"] for n in ray_module().nodes())


def on(node: str) -> dict:
    """Actor options that place it on the node `node` and nowhere else,
    taking none of Ray's CPUs (it pins itself where it must)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    return {"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(node, soft=False)}


def pack(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        tar.add(str(folder), arcname=".")
    return buf.getvalue()


def unpack(blob: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        tar.extractall(folder, filter="data")
