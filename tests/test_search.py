"""The genetic search itself, with made-up fitness functions: deterministic,
bounded, stops on a plateau, survives candidates that crash, finds a good
genome in a space too large to try whole."""

import math
import random

import pytest

from atlas.search.explode import Evaluation, Genetic, Genome, Options, Space, crossover, mutate
from atlas.search.screen import CostModel, target
from atlas.search.worker import Measured

SPACE = Space(
    roots=("r0", "r1"),
    shapes=("plain", "hot-path"),
    vector_width=(0, 1, 4, 8, 16),
    interleave=(0, 1, 2, 4),
    unroll=(0, 1, 2, 4),
    prefer_width_bits=(0, 256, 512),
)


def bowl(g: Genome) -> Evaluation:
    """A fitness landscape with one best genome: vw 8, il 4, ur 2, hot path, both atlas forms."""
    t = 100.0
    t *= {0: 1.0, 1: 1.6, 4: 0.9, 8: 0.7, 16: 0.8}[g.vector_width]
    t *= {0: 1.0, 1: 1.2, 2: 0.95, 4: 0.85}[g.interleave]
    t *= {0: 1.0, 1: 1.1, 2: 0.9, 4: 1.05}[g.unroll]
    t *= 0.8 if g.shape == "hot-path" else 1.0
    t *= 1.0 - 0.05 * sum(g.forms)
    return Evaluation(g, Measured.OK, times=[t, 2 * t])


BEST = Genome((True, True), "hot-path", 8, 4, 2, 0)


def test_genome_round_trip_and_description():
    g = Genome((True, False), "tier64", 8, 2, 0, 512)
    assert Genome.from_dict(g.as_dict()) == g
    assert g.describe() == "tier64 atlas 1/2 vw=8 il=2 pw=512"
    assert SPACE.default() == Genome((True, True))
    assert SPACE.size() == 4 * 2 * 5 * 4 * 4 * 3
    # a root with more forms than the source's and the atlas's cheapest
    wide = Genome((2, 0), "plain", 8)
    assert Genome.from_dict(wide.as_dict()) == wide and wide.describe() == "plain forms 2.0 vw=8"
    three = Space(roots=("r0", "r1"), choices=((0, 1, 2), (0,)), defaults=(1, 0))
    assert three.default() == Genome((1, 0)) and three.contains(wide) and not three.contains(Genome((3, 0)))
    assert three.size() == 3 * 1 * 1 * 5 * 4 * 4 * 2


def test_mutation_and_crossover_stay_in_the_space():
    rng = random.Random(1)
    g = SPACE.default()
    for _ in range(200):
        m = mutate(g, SPACE, rng)
        assert m != g and SPACE.contains(m)
        c = crossover(g, m, SPACE, rng)
        assert SPACE.contains(c)
        for name in ("shape", "vector_width", "interleave", "unroll", "prefer_width_bits"):
            assert getattr(c, name) in (getattr(g, name), getattr(m, name))
        g = m


def test_finds_the_best_of_a_large_space_with_few_evaluations():
    ga = Genetic(SPACE, bowl, Options(max_evals=80, budget_s=60, plateau=20, seed=0))
    best, how = ga.run()
    assert how.evaluations <= 80 < SPACE.size()
    assert best.fitness <= bowl(BEST).times[0] / bowl(SPACE.default()).times[0] * 1.15
    assert best.fitness < 0.6  # far below the default's 1.0
    assert ga.order[0] == SPACE.default()  # the default is the baseline, measured first


def test_deterministic_for_a_seed():
    def order(seed):
        ga = Genetic(SPACE, bowl, Options(max_evals=30, seed=seed, plateau=99))
        ga.run()
        return ga.order

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_stops_on_a_plateau():
    flat = lambda g: Evaluation(g, Measured.OK, times=[100.0])  # noqa: E731
    ga = Genetic(SPACE, flat, Options(max_evals=500, plateau=3, population=6))
    best, how = ga.run()
    assert how.stop.startswith("plateau")
    assert how.evaluations < 500
    assert best.genome == SPACE.default()  # nothing better than the default: keep it


def test_stops_at_the_time_limit():
    ga = Genetic(SPACE, bowl, Options(max_evals=500, budget_s=0))
    best, how = ga.run()
    assert how.stop == "time limit" and how.evaluations == 1


def test_crashing_and_hanging_candidates_cost_only_themselves():
    def risky(g):
        if g.vector_width == 16:
            return Evaluation(g, Measured.CRASHED, detail="SIGSEGV")
        if g.unroll == 4:
            return Evaluation(g, Measured.TIMEOUT, detail="killed")
        return bowl(g)

    ga = Genetic(SPACE, risky, Options(max_evals=60, plateau=20))
    best, how = ga.run()
    statuses = {e.status.value for e in ga.evaluated.values()}
    assert {"crashed", "timeout"} <= statuses
    assert best.status is Measured.OK and best.genome.vector_width != 16 and best.genome.unroll != 4
    assert best.fitness < 1.0


def test_a_default_that_does_not_run_ends_the_search():
    broken = lambda g: Evaluation(g, Measured.ERROR, detail="no")  # noqa: E731
    best, how = Genetic(SPACE, broken, Options()).run()
    assert best.status is Measured.ERROR and how.evaluations == 1
    assert "did not run" in how.stop


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_never_measures_a_genome_twice(seed):
    calls = []

    def counting(g):
        calls.append(g)
        return bowl(g)

    Genetic(SPACE, counting, Options(max_evals=50, seed=seed, plateau=99)).run()
    assert len(calls) == len(set(calls))


def _random_genomes(k: int, seed: int) -> list[Genome]:
    rng = random.Random(seed)
    return [SPACE.draw(rng) for _ in range(k)]


def test_the_cost_model_learns_a_landscape_from_few_measurements():
    model = CostModel(SPACE)
    assert not model.fit([(g, target(bowl(g).times)) for g in _random_genomes(5, 0)])  # too few yet
    train = _random_genomes(30, 1)
    assert model.fit([(g, target(bowl(g).times)) for g in train]) and model.trained_on == 30
    held_out = _random_genomes(60, 2)
    predicted = model.predict(held_out)
    actual = [target(bowl(g).times) for g in held_out]
    # rank agreement on genomes it never saw (Spearman's rho)
    rp = {g: r for r, g in enumerate(sorted(range(60), key=lambda i: predicted[i]))}
    ra = {g: r for r, g in enumerate(sorted(range(60), key=lambda i: actual[i]))}
    rho = 1 - 6 * sum((rp[i] - ra[i]) ** 2 for i in range(60)) / (60 * (60**2 - 1))
    assert rho > 0.9
    # its own descent reaches the landscape's best from the default
    assert model.improve(SPACE.default()) == BEST


def _best_found(strategy: str, screen: int) -> float:
    """Geometric mean over seeds of the best fitness found in 40
    measurements, over the landscape's best."""
    optimum = bowl(BEST).times[0] / bowl(SPACE.default()).times[0]
    logs = []
    for seed in range(12):
        ga = Genetic(SPACE, bowl, Options(max_evals=40, plateau=99, seed=seed, screen=screen, strategy=strategy))
        best, how = ga.run()
        assert how.evaluations == 40 and how.considered >= 39
        assert (how.screened > 0) == (screen > 1 and strategy == "genetic")
        logs.append(math.log(best.fitness / optimum))
    return math.exp(sum(logs) / len(logs))


def test_screening_by_the_cost_model_finds_more_for_the_same_measurements():
    screened, bred, drawn = _best_found("genetic", 4), _best_found("genetic", 1), _best_found("random", 1)
    assert screened < bred < drawn


def test_an_unknown_strategy_is_a_clear_error():
    from atlas.front.diagnostics import AtlasError

    with pytest.raises(AtlasError, match="unknown search strategy 'annealing'"):
        Genetic(SPACE, bowl, Options(strategy="annealing"))


def test_every_shape_on_offer_is_measured_in_the_first_generation():
    """With the default's forms and knobs, before anything drawn: a shape
    that applies only to the default forms (inapplicable elsewhere) must
    not be left to a uniform draw over forms and knobs."""
    space = Space(roots=("r0", "r1"), shapes=("plain", "deferred-reduction", "inbounds", "fusion"))
    default = space.default()

    def only_at_default_forms(g: Genome) -> Evaluation:
        if g.shape == "deferred-reduction" and g.forms != default.forms:
            return Evaluation(g, Measured.INAPPLICABLE)
        return Evaluation(g, Measured.OK, times=[10.0 if g.shape == "deferred-reduction" else 100.0])

    for seed in range(5):
        ga = Genetic(space, only_at_default_forms, Options(max_evals=12, plateau=1, seed=seed))
        best, _ = ga.run()
        first = ga.order[1:4]
        assert {g.shape for g in first} == {"deferred-reduction", "inbounds", "fusion"}
        assert all(g.forms == default.forms and g.vector_width == default.vector_width for g in first)
        assert best.genome.shape == "deferred-reduction" and best.fitness == pytest.approx(0.1)
