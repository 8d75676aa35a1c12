"""The market across machines on a local Ray cluster of three nodes: each
node installs itself (one compile per fingerprint), the Cholesky and a
mixed stream run correctly under the policies, a daemon that crashes is
started again, and a node that leaves mid-run loses no task and runs none
twice.  Skipped where Ray is not installed (the `cluster` extra)."""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from atlas.market import cluster, execute, policies
from atlas.market.records import DONE
from atlas.market.selector import HAND_WRITTEN, Selector
from atlas.machine.nodes import ClusterError
from atlas.machine.manifest import Manifest, Origin
from atlas.machine.probe import probe
from atlas.market.session import MarketError
from atlas.tools.cli import main

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402

# one worker runs them all, in this order: the last takes a node away
pytestmark = [pytest.mark.cc, pytest.mark.xdist_group("ray-cluster")]

INTENTS = Path(__file__).resolve().parents[1] / "intents"
CHOLESKY = INTENTS / "market" / "cholesky.ax"
MIX = (execute.StreamMix("gemm", 24, 3.0), execute.StreamMix("syrk", 32), execute.StreamMix("trsm", 40))
MIX += (execute.StreamMix("potrf", 48),)


@pytest.fixture(scope="module")
def three():
    """A head and two worker nodes, one CPU each, and the Cholesky kernels
    installed on all three."""
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    workers = [c.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=c.address, include_dashboard=False, log_to_driver=False)
    c.wait_for_nodes()
    said: list[str] = []
    inst = cluster.install([CHOLESKY], say=said.append)
    yield c, workers, inst, said
    inst.close()
    ray.shutdown()
    c.shutdown()


def _once(out) -> collections.Counter:
    """Each task's DONE records in the market's ledger."""
    rec = out.run.ledger.array()
    return collections.Counter(int(t) for t in rec["task"][rec["outcome"] == DONE])


def _market(inst):
    return cluster.Market(inst, cores_per_node=1, timeout=120.0)


def test_every_node_installs_itself_once_per_fingerprint(three):
    _, _, inst, said = three
    assert len(inst.nodes) == 3 and [n.memory for n in inst.nodes] == [0, 1, 2]
    assert len({n.fingerprint for n in inst.nodes}) == 1  # one machine: one fingerprint
    assert inst.compiles == 1 and len(said) == 1 and "3 node(s) share it" in said[0]
    assert len({n.artefact for n in inst.nodes}) == 3  # each node has its own copy
    for n in inst.nodes:
        assert (Path(n.artefact) / "manifest.json").exists()
    assert set(inst.signatures) == {"potrf", "trsm", "syrk", "gemm"}
    assert inst.bandwidth > 0 and inst.latency > 0


@pytest.mark.parametrize("name", ["eager", "dmda", "market"])
def test_cholesky_across_three_nodes(three, name):
    _, _, inst, _ = three
    pol = policies.by_name(name, {"cpu": Selector.parse(HAND_WRITTEN)})
    with _market(inst) as m:
        assert [u.node for u in m.units()] == [0, 1, 2]
        job = execute.Cholesky.submit(m, execute.spd(384, 1), 96)
        out = m.run(pol)
    assert not out.failed and job.error() < execute.TOLERANCE
    assert set(_once(out).values()) == {1} and len(_once(out)) == len(m.graph)
    assert out.executed is not None and len(out.executed) == len(m.graph)  # every daemon's own record, read back
    assert len({t.unit for t in out.run.times}) >= 2  # the work was shared out


def test_mixed_stream_across_three_nodes(three):
    _, _, inst, _ = three
    with _market(inst) as m:
        job = execute.Stream.submit(m, 40, MIX, seed=5)
        out = m.run(policies.Dmda())
    assert not out.failed and job.error() < execute.TOLERANCE
    assert len(_once(out)) == 40 and set(_once(out).values()) == {1}
    kinds = {m.graph.tasks[i].kind for i in _once(out)}
    assert kinds == {"gemm", "syrk", "trsm", "potrf"}


def test_a_crashed_daemon_is_started_again_and_its_task_run_again(three):
    _, _, inst, _ = three
    with _market(inst) as m:
        job = execute.Cholesky.submit(m, execute.spd(256, 2), 64)
        out = m.run(policies.Eager(), inject={3: "crash"})
    assert not out.failed and job.error() < execute.TOLERANCE
    assert out.restarts == 1 and out.retried == 1 and out.retired == ()
    assert set(_once(out).values()) == {1}


def test_a_search_times_its_candidates_on_the_cluster_nodes_of_the_targets_fingerprint(three, tmp_path, monkeypatch):
    import atlas.search.worker

    def not_here(*a, **k):
        raise AssertionError("a candidate was timed by this process, not on the cluster")

    monkeypatch.setattr(atlas.search.worker, "measure", not_here)
    src, out = str(INTENTS / "saxpy.ax"), tmp_path / "out"
    # --fresh: searched again whatever the archive holds; a budget that three candidates never reach
    asked = ["--budget", "300", "--evals", "3", "--fresh", "--ray", "auto"]
    r = CliRunner().invoke(main, ["compile", src, *asked, "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "candidates timed on 3 node(s) of the Ray cluster" in r.output
    found = json.loads((out / "manifest.json").read_text())["functions"]["saxpy"]["search"]
    assert found["evaluations"] == 3 and not found["from_archive"]
    rows = CliRunner().invoke(main, ["variants", src])  # in the archive as if measured here
    assert rows.exit_code == 0 and "ok" in rows.output
    # the nodes of that fingerprint install the champion, measuring nothing
    inst = cluster.install([src])
    try:
        for node in inst.nodes:
            entry = Manifest.read(Path(node.artefact)).functions["saxpy"]
            assert entry.search is not None and entry.search.origin is Origin.ARCHIVE
            assert entry.search.genome == found["genome"]
    finally:
        inst.close()


def test_a_target_no_node_of_the_cluster_has_is_a_clear_error(three, tmp_path):
    other = probe().to_json()
    other["cpu"]["model_name"] = "a processor this cluster lacks"
    hw = tmp_path / "other.json"
    hw.write_text(json.dumps(other))
    src = str(INTENTS / "saxpy.ax")
    r = CliRunner().invoke(
        main, ["compile", src, "--hw", str(hw), "--budget", "5", "--ray", "auto", "-o", str(tmp_path / "o")]
    )
    assert r.exit_code != 0 and "no node of the Ray cluster at auto has fingerprint" in r.output
    assert "Traceback" not in r.output


def test_market_run_across_the_cluster_from_the_command_line(three, tmp_path):
    work = tmp_path / "stream.yaml"
    work.write_text(
        f"intents: [{CHOLESKY}]\n"
        "stream: {count: 30, mix: [{kind: gemm, tile: 16}, {kind: potrf, tile: 32}], seed: 1}\n"
    )
    r = CliRunner().invoke(main, ["market", "run", str(work), "--ray", "auto", "--cores-per-node", "1"])
    assert r.exit_code == 0, r.output
    assert "3 node(s), 1 compile(s)" in r.output and "on 3 daemon(s)" in r.output
    assert "market: every result matches numpy's" in r.output
    bad = CliRunner().invoke(main, ["market", "run", str(work), "--ray", "auto", "--cores", "0"])
    assert bad.exit_code != 0 and "--ray: each node compiles for itself" in bad.output


def test_a_node_that_joins_mid_run_installs_itself_and_starts_earning(three):
    c, _, inst, _ = three
    added = []

    def progress(done, failed, total):
        if done >= 1 and not added:  # the market waits here until the node is up
            added.append(c.add_node(num_cpus=1))
            c.wait_for_nodes()

    with cluster.Market(inst, cores_per_node=1, timeout=120.0, watch=0.0) as m:
        job = execute.Stream.submit(m, 200, MIX, seed=9)
        out = m.run(policies.Eager(), progress=progress)
    assert added and out.joined == ("n3.cpu0",) and len(inst.nodes) == 4
    assert inst.nodes[3].ident == added[0].node_id and not inst.nodes[3].compiled  # same fingerprint: no compile
    assert not out.failed and job.error() < execute.TOLERANCE
    assert len(_once(out)) == 200 and set(_once(out).values()) == {1}
    assert any(t.unit == 3 for t in out.run.times) and out.run.units[3].earnings > 0


def test_a_node_that_leaves_mid_run_loses_no_task(three):
    """Runs last of this module: it takes a worker node away for good."""
    c, workers, inst, _ = three
    gone = workers[1]
    memory = next(n.memory for n in inst.nodes if n.ident == gone.node_id)
    with _market(inst) as m:
        job = execute.Cholesky.submit(m, execute.spd(512, 3), 64)  # 120 tasks
        left = []

        def progress(done, failed, total):
            if done >= 20 and not left:
                left.append(done)
                c.remove_node(gone)

        out = m.run(policies.Eager(), progress=progress)
    assert left, "the node was never removed"
    assert not out.failed and job.error() < execute.TOLERANCE
    assert len(_once(out)) == len(m.graph) and set(_once(out).values()) == {1}
    assert out.retired == (f"n{memory}.cpu0",)
    ran_there = [t for t in out.run.times if t.unit == memory]  # one unit a node: unit index = memory node
    assert ran_there, "the node that left had run nothing"
    late = max(t.end for t in out.run.times if t.unit != memory)
    assert all(t.end < late for t in ran_there)  # the others finished the work


def test_without_ray_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ClusterError, match=r"pip install 'atlas-compiler\[cluster\]'"):
        cluster.connect("auto")


def test_the_market_puts_data_as_its_units_expect(three):
    _, _, inst, _ = three
    with _market(inst) as m:
        d = m.put(np.arange(6.0).reshape(2, 3), "a")
        assert d.array.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
        with pytest.raises(MarketError, match="holds f64, the data is float32"):
            m.submit("potrf", 2, m.put(np.zeros(4, dtype=np.float32)))
