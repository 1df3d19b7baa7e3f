"""The compiled kernels (simulation/kernels.py) against the numpy reference implementation.

Each test forces the kernel path with the ``kernel`` parameter (never through the size
threshold) on small inputs and requires the same results as the numpy path given the same
random draws: identical arrays (and identical bookings left in the population).
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from simulation import kernels
from simulation.auction import second_price_grouped
from simulation.behaviour import Impressions
from simulation.distribution.interest_feed import alias_tables
from simulation.model import SnowballModel
from simulation.population import Sessions

from conftest import small

pytest.importorskip("numba")


def assert_same(a, b):
    assert a.dtype == b.dtype
    np.testing.assert_array_equal(a, b)


def assert_looked_up(imp, sessions):
    """The follow slot and affinity an impression carries are the session's look-up, and
    some impressions reach fans."""
    slot, aff = sessions.lookup(imp.session, imp.stream)
    assert_same(imp.fan_slot, slot)
    assert_same(imp.affinity, aff)
    assert (slot >= 0).any()


def test_size_rule_and_force(monkeypatch):
    monkeypatch.setattr(kernels, "_warm", False)
    assert not kernels.use(kernels.MIN_SIZE - 1)
    assert not kernels.use(10, force=False) and not kernels._warm  # forced: no warm-up
    assert kernels.use(10, force=True) and not kernels._warm
    assert not kernels.use(kernels.MIN_SIZE_WARM)
    assert kernels.use(kernels.MIN_SIZE) == kernels.available()
    # After one large call (numba loaded by the size rule), smaller calls use the kernels.
    assert kernels.use(kernels.MIN_SIZE_WARM)
    assert not kernels.use(kernels.MIN_SIZE_WARM - 1)
    assert not kernels.use(10**9, force=False)


def test_a_rare_pass_never_loads_the_kernels_itself(monkeypatch):
    """A once-a-day pass (the interest decay) is compiled only after a per-tick pass has
    loaded the kernels, however large it is, or when forced."""
    monkeypatch.setattr(kernels, "FORCE", None)
    monkeypatch.setattr(kernels, "_warm", False)
    assert not kernels.use_once_loaded(10**9) and not kernels._warm
    assert kernels.use_once_loaded(10, force=True)
    assert not kernels.use_once_loaded(10**9, force=False)
    kernels.use(kernels.MIN_SIZE)  # a per-tick pass of a large tick loads them
    assert kernels.use_once_loaded(kernels.MIN_SIZE_WARM) == kernels.available()
    assert not kernels.use_once_loaded(kernels.MIN_SIZE_WARM - 1)


@pytest.mark.parametrize("sharpness", [1.0, 1.7])
def test_sample_categories(sharpness):
    rng = np.random.default_rng(1)
    k, n_sess = 12, 300
    interests = rng.dirichlet(np.full(k, 0.3), n_sess).astype(np.float32)
    interests[:5] = 0  # degenerate rows: every draw lands on the last category
    sessions = Sessions(np.arange(n_sess), interests, np.empty((n_sess, 0)), np.empty((n_sess, 0)))
    slots = np.repeat(np.arange(n_sess), 7)
    ref = sessions.sample_categories(slots, sharpness, np.random.default_rng(5), kernel=False)
    got = sessions.sample_categories(slots, sharpness, np.random.default_rng(5), kernel=True)
    assert_same(got, ref)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 10) | st.sampled_from([0.0, 1.0, 5e-324]), st.integers(0, 5)),
        min_size=1,
        max_size=40,
    )
)
@example(rows=[(5e-324, 0), (1e-323, 0)])  # subnormal total
@example(rows=[(1.0, 2), (1.0, 2), (3.0, 2), (0.0, 4)])  # exact ones, an empty group between
def test_alias_tables_kernel(rows):
    """The compiled alias-table construction gives the same tables as the Python one."""
    rows = sorted(rows, key=lambda r: r[1])
    w = np.array([r[0] for r in rows])
    g = np.array([r[1] for r in rows])
    ref = alias_tables(w, g, 6)
    got = alias_tables(w, g, 6, kernel=True)
    assert_same(got[0], ref[0])
    assert_same(got[1], ref[1])


@pytest.mark.parametrize("with_extra", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_auction_broad_kernel(seed, with_extra):
    rng = np.random.default_rng(seed)
    a, c, k = 400, 30, 5
    value = rng.uniform(0, 100, c)
    value[:3] = value[3]  # ties
    category = rng.integers(0, k, c)
    broad = rng.random(c) < 0.6
    bar = rng.uniform(0, 2, c) * (rng.random(c) < 0.5)
    segment = rng.integers(0, k, a)
    interest = rng.exponential(1, (a, k)).astype(np.float32)
    factor = np.clip(interest, 0.05, 20) ** np.float32(0.5)
    allowance = rng.uniform(0, 3, c)
    extra = None
    if with_extra:
        n = int(rng.integers(0, 2 * a))
        extra = (rng.integers(0, a, n), rng.integers(0, c, n))
    batch = rng.integers(0, 3, a)
    participate = rng.random((3, c)) < 0.7
    args = (value, category, broad, bar, segment, interest, factor, allowance, 5.0, extra)
    ref = second_price_grouped(*args, batch, participate, max_rounds=3, kernel=False)
    got = second_price_grouped(*args, batch, participate, max_rounds=3, kernel=True)
    for x, y in zip(got, ref, strict=True):
        assert_same(x, y)


@pytest.fixture(scope="module")
def ticking():
    """A small model stepped into its evening, with a fresh tick's sessions."""
    model = SnowballModel(small(**{"population.viewers": 6000}), seed=4)
    for _ in range(20 * 6):
        model.step()
    pop = model.population
    viewers = pop.draw_sessions(20, model.tph, 1.0, np.random.default_rng(0))
    live = model._live_now(model.day, 20 * 6)
    assert live.any()
    return model, pop.snapshot(viewers), live


@pytest.mark.parametrize(
    "feed_cfg",
    [{}, {"exploration_scope": "platform"}, {"exploration": 0.4}, {"exploration": 0.0}],
)
def test_free_slots(ticking, feed_cfg, monkeypatch):
    model, sessions, live = ticking
    feed = model.policy
    monkeypatch.setattr(feed, "cfg", dataclasses.replace(feed.cfg, **feed_cfg))
    n = len(sessions) * 6
    slot_sess = np.repeat(np.arange(len(sessions)), 6)
    cat = np.random.default_rng(3).integers(0, model.population.k, n)
    out = []
    for kernel in (False, True):
        feed.rng = np.random.default_rng(11)
        out.append(feed._free(sessions, slot_sess, cat, live, kernel=kernel))
    ref, got = out
    assert len(ref) > 0
    for f in (*Impressions.FIELDS, "fan_slot", "affinity"):
        assert_same(getattr(got, f), getattr(ref, f))
    assert_looked_up(ref, sessions)


def test_free_slots_with_filter_collisions(ticking):
    """The free-slot kernel rules out follows with a 64-bit filter per session (bit
    ``stream & 63``). The fixture has fewer than 64 streams, so here every empty follow entry
    holds a stream id 64 or 128 above a live one: filter hits that the scan must reject, next
    to the real follows it must find."""
    model, sessions, live = ticking
    feed = model.policy
    rng = np.random.default_rng(5)
    follow = sessions.follow.copy()
    empty = follow < 0
    follow[empty] = rng.choice(np.flatnonzero(live), int(empty.sum())) + rng.choice(
        [64, 128], int(empty.sum())
    )
    sessions = dataclasses.replace(sessions, follow=follow)
    n = len(sessions) * 6
    slot_sess = np.repeat(np.arange(len(sessions)), 6)
    cat = rng.integers(0, model.population.k, n)
    out = []
    for kernel in (False, True):
        feed.rng = np.random.default_rng(12)
        out.append(feed._free(sessions, slot_sess, cat, live, kernel=kernel))
    ref, got = out
    for f in (*Impressions.FIELDS, "fan_slot", "affinity"):
        assert_same(getattr(got, f), getattr(ref, f))
    assert_looked_up(ref, sessions)
    collide = (follow[ref.session] & 63) == (ref.stream[:, None] & 63)
    assert (collide.any(axis=1) & (ref.fan_slot < 0)).sum() > 100  # filter hits, no follow


def test_follow_channel(ticking):
    model, sessions, live = ticking
    feed, pop = model.policy, model.population
    rng = np.random.default_rng(21)
    reserved = np.full(pop.n, -1, dtype=pop.reserved.dtype)
    some = rng.choice(pop.n, pop.n // 3, replace=False)
    reserved[some] = rng.choice(np.flatnonzero(live), len(some))
    # Some bookings of rooms the viewer already follows (shown once, as followed).
    fans = np.flatnonzero(pop.follow[:, 0] >= 0)[:200]
    reserved[fans] = pop.follow[fans, 0]
    out = []
    for kernel in (False, True):
        pop.reserved[:] = reserved
        feed.rng = np.random.default_rng(22)
        imp, n_follow = feed._follow_channel(sessions, live, kernel=kernel)
        out.append((imp, n_follow, pop.reserved.copy()))
    pop.reserved[:] = -1
    (ref, ref_n, ref_res), (got, got_n, got_res) = out
    assert len(ref) > 0 and (ref.boost > 0).any()
    for f in Impressions.FIELDS:
        assert_same(getattr(got, f), getattr(ref, f))
    assert_same(got_n, ref_n)
    assert_same(got_res, ref_res)


def test_serve(ticking):
    """The whole interest-feed step (follow channel, slot split, auction, free slots)."""
    model, sessions, live = ticking
    feed, pop = model.policy, model.population
    reserved = pop.reserved.copy()
    out = []
    for kernel in (False, True):
        pop.reserved[:] = reserved
        feed.rng = np.random.default_rng(31)
        out.append((feed.serve(sessions, live, kernel=kernel), pop.reserved.copy()))
    (ref, ref_res), (got, got_res) = out
    assert (ref.source == 1).any() and (ref.source == 2).any()  # paid and follow slots
    for f in (*Impressions.FIELDS, "fan_slot", "affinity"):
        assert_same(getattr(got, f), getattr(ref, f))
    assert_looked_up(ref, sessions)
    assert_same(got_res, ref_res)


def test_interrupts_during_compilation_are_delivered_afterwards():
    """A Ctrl-C while a kernel compiles would be dropped inside numba's C callbacks; it is
    held back and raised when the first call returns, and not raised if SIGINT is ignored."""
    import os
    import signal

    done = []

    def compiling():
        os.kill(os.getpid(), signal.SIGINT)  # arrives mid-call
        done.append(1)
        return 7

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal
    try:
        with pytest.raises(KeyboardInterrupt):
            kernels.deferring_interrupts(compiling)
        assert done == [1]  # the call ran to its end first
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        assert kernels.deferring_interrupts(compiling) == 7
    finally:
        signal.signal(signal.SIGINT, previous)
    assert kernels.deferring_interrupts(lambda x: x + 1, 1) == 2


def test_compile_all_readies_every_kernel(monkeypatch):
    """What the install step runs: every kernel of the module compiled (or loaded from the
    cache) by small forced runs under each policy, and the size rule restored after."""
    import inspect

    from simulation import compile_kernels

    monkeypatch.setattr(kernels, "FORCE", None)
    defined = {
        name[1:]
        for name, f in vars(kernels).items()
        if name.startswith("_") and not name.startswith("__") and inspect.isfunction(f)
    } - {"codegen_options", "compile_inline", *kernels._INLINE}
    assert compile_kernels.compile_all() == sorted(defined)
    assert kernels.FORCE is None


CACHE_PROBE = """
import numpy as np
from simulation import kernels
assert kernels.__file__.startswith({site!r}), kernels.__file__
f = kernels.get("sample_categories")
cum = np.cumsum(np.ones((2, 3), dtype=np.float32), axis=1)
out = f(cum, np.array([0, 1, 1]), np.array([0.1, 0.5, 0.9], dtype=np.float32))
assert out.tolist() == [0, 1, 2], out
d = kernels._jit["sample_categories"]
print(sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values()))
"""


def snapshot(root):
    """Every path under ``root`` with its size and modification time."""
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("numba_cache_dir", [False, True])
def test_an_installed_copy_caches_its_kernels_outside_the_package(tmp_path, numba_cache_dir):
    """A copy of the package standing for an installed wheel (run as root, a read-only
    folder would still be writable, so every file under it is compared instead): compiling a
    kernel writes nothing in the package folder, and the cache goes to the user's cache
    folder (kernels.cache_folder, from XDG_CACHE_HOME here), where a second process loads it
    instead of compiling. A user's own NUMBA_CACHE_DIR is honoured instead."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    site = tmp_path / "site-packages"
    source = Path(kernels.__file__).parent
    shutil.copytree(source, site / "simulation", ignore=shutil.ignore_patterns("__pycache__"))
    before = snapshot(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env |= {"PYTHONPATH": str(site), "PYTHONDONTWRITEBYTECODE": "1"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "user-cache")
    cache = tmp_path / "user-cache" / "snowball" / "numba"
    if numba_cache_dir:
        env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
        cache = tmp_path / "numba-cache"

    def probe() -> list[int]:
        r = subprocess.run(
            [sys.executable, "-c", CACHE_PROBE.format(site=str(site))],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        return [int(x) for x in r.stdout.split()]

    assert probe() == [0, 1]  # compiled: a cache miss
    assert snapshot(site) == before  # nothing written beside the module
    written = sorted(p.name for p in cache.rglob("*") if p.is_file())
    assert any(n.startswith("kernels._sample_categories") and n.endswith(".nbi") for n in written)
    assert any(n.endswith(".nbc") for n in written), written
    assert [p.parent.name for p in cache.rglob("*.nbi")] == [
        "simulation_" + __import__("hashlib").sha1(str(site / "simulation").encode()).hexdigest()
    ]
    assert probe() == [1, 0]  # loaded from the cache
    assert snapshot(site) == before


@pytest.mark.parametrize("interactions", [False, True])
def test_observe_counts(interactions):
    """The compiled counting pass of AudienceBaseline.observe gives the same expected counts
    and leaves the same baseline as the numpy one."""
    from simulation.estimates import CELLS, NEED_LEVELS, AudienceBaseline

    rng = np.random.default_rng(4)
    n, s = 3000, 7
    pair = rng.integers(0, s * CELLS, n)
    entered = rng.random(n) < 0.3
    dwell = np.where(entered, rng.exponential(2.0, n), 0.0)
    bought = entered & (rng.random(n) < 0.2)
    need = rng.integers(0, NEED_LEVELS, int(entered.sum())).astype(np.int8)
    got, ref = AudienceBaseline(50.0, 0.9), AudienceBaseline(50.0, 0.9)
    for _ in range(2):  # the second tick reads the tables the first one left
        a = ref.observe(pair, entered, dwell, bought, need, s, interactions, kernel=False)
        b = got.observe(pair, entered, dwell, bought, need, s, interactions, kernel=True)
        assert a.keys() == b.keys()
        for k in a:
            assert_same(b[k], a[k])
        for name in ("impressions", "entries", "dwell", "need_entries", "orders", "cvr"):
            assert_same(getattr(got, name), getattr(ref, name))
        for q in ref.calibration:
            assert_same(got.calibration[q], ref.calibration[q])


def test_audience_pairs():
    """The compiled feature pass of audience_counts gives the same expected counts and
    leaves the same baseline as the numpy one (z across all bins, both fan levels, NaN-free
    affinities on both sides of 0.5)."""
    from simulation.estimates import NEED_LEVELS, AudienceBaseline, audience_counts

    rng = np.random.default_rng(6)
    n, s, n_sess = 4000, 9, 500
    stream = rng.integers(0, s, n)
    session = rng.integers(0, n_sess, n)
    z = np.concatenate([[0.0, 1e-6, 2.0**-10, 0.75, 16.0, 40.0], rng.exponential(1.0, n - 6)])
    z = z.astype(np.float32)
    affinity = rng.random(n).astype(np.float32)
    is_fan = rng.random(n) < 0.3
    activity = rng.integers(0, 4, n_sess).astype(np.int8)
    entered = rng.random(n) < 0.3
    need = rng.integers(0, NEED_LEVELS, int(entered.sum())).astype(np.int8)
    dwell = np.where(entered, rng.exponential(2.0, n), 0.0)
    bought = entered & (rng.random(n) < 0.2)
    args = (stream, session, z, affinity, is_fan, activity, need, entered, dwell)
    got, ref = AudienceBaseline(50.0, 0.9), AudienceBaseline(50.0, 0.9)
    a = audience_counts(ref, *args, bought, s, True, kernel=False)
    b = audience_counts(got, *args, bought, s, True, kernel=True)
    for key in a:
        assert_same(b[key], a[key])
    for name in ("impressions", "entries", "dwell", "need_entries", "orders"):
        assert_same(getattr(got, name), getattr(ref, name))
    assert (ref.need_entries > 0).sum() > 100  # many (cell, need) pairs were reached


@pytest.mark.parametrize("exposure", [0.01, 0.003])
def test_drift_weights(exposure):
    """Interest drift with the compiled weights pass moves the interests exactly as the
    numpy one (repeat viewers in the tick, entries with weights)."""
    from simulation.config import BehaviourConfig, PlatformConfig, PopulationConfig
    from simulation.population import Population

    def make():
        pf = PlatformConfig(interest_drift=True)
        cfg = PopulationConfig(viewers=300, categories=5)
        return Population(cfg, BehaviourConfig(), 5, np.random.default_rng(9), pf)

    pops = make(), make()
    rng = np.random.default_rng(2)
    for kernel, pop in zip((False, True), pops, strict=True):
        viewers = pop.draw_sessions(20, 1, 40.0, np.random.default_rng(1))
        sessions = pop.snapshot(viewers)
        session = rng.integers(0, len(viewers), 3000)
        cats = rng.integers(0, 5, 3000)
        entered = np.flatnonzero(rng.random(3000) < 0.2)
        w = rng.exponential(0.1, len(entered))
        pop.drift_interests(sessions, session, cats, exposure, entered, w, kernel=kernel)
        rng = np.random.default_rng(2)
    assert_same(pops[1].interests, pops[0].interests)
    assert not np.array_equal(pops[0].interests, make().interests)  # they moved


@pytest.mark.parametrize("scripted, cycle", [(False, 60.0), (True, 60.0), (False, 37.3)])
def test_run_of_show_passes(scripted, cycle, monkeypatch):
    """The compiled passes of the run-of-show (an impression's item on air and the count
    per room and item; a visit's cross-selling sum and each item's minutes on air during
    it) give exactly numpy's values: rooms with the default three items and with a longer
    explicit script (a zero-length item, repeated roles), minutes on item boundaries and on
    whole passes, visits spanning several passes; passes of whole minutes (the position
    within the pass without fmod) and not."""
    from simulation.run_of_show import RunOfShow

    rng = np.random.default_rng(8)
    n = 7
    show = RunOfShow(cycle, 10.0, n)
    if scripted:
        show.set_scripts(np.array([1, 4]), [0, 1, 0, 2, 1], [5.0, 20.0, 0.5, 7.0, 12.5])
    mix = rng.dirichlet(np.ones(3), n)
    mix[2] = [0.5, 0.5, 0.0]  # an item that is never on air
    show.set_mix(mix)
    show.clock[:] = rng.integers(0, 50, n) * 10.0
    show.clock[3] = 50.0  # a tick that ends on a whole pass
    m = 20_000
    s = rng.integers(0, n, m)
    u = rng.random(m, dtype=np.float32)
    u[:40] = 0.0
    u[40:60] = np.float32(0.99999994)
    minute = rng.uniform(0, 500, m) * (rng.random(m) < 0.9)
    edges = show.start[s, 1] + show.cycle[s] * rng.integers(0, 4, m)
    minute = np.where(rng.random(m) < 0.2, edges, minute)  # exactly on boundaries
    minute[:50] = show.cycle[s[:50]] * 3  # whole passes
    dwell = rng.exponential(30.0, m)
    appeal = rng.uniform(0.5, 1.5, show.k)
    price = np.minimum(4.0, rng.uniform(0.2, 3, (m, show.k)) ** -rng.uniform(0, 2, (m, 1)))
    results = {}
    for compiled in (False, True):
        monkeypatch.setattr(kernels, "FORCE", compiled)
        item, placed = show.place(s, u)
        results[compiled] = (
            item,
            placed,
            show.cross_sell(s, minute, dwell, appeal, price),
            show.overlap(s, minute, dwell),
        )
    for got, ref in zip(results[True], results[False], strict=True):
        assert_same(got, ref)
    item, placed = results[False][:2]
    assert len(np.unique(item)) >= 3 and item.dtype == np.int64
    assert placed.dtype == np.float64 and placed.sum() == m  # every impression, once
    assert placed[s[0] * show.k + item[0]] == np.sum((s == s[0]) & (item == item[0]))
    at = show.minute_at(s, u)
    assert at.dtype == np.float64
    assert_same(at[:40], show.clock[s[:40]])  # u = 0: the tick's start
    assert_same(show.on_air(s, at), item)
    assert show.whole_cycles() == (cycle == 60.0)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 5000])
def test_warmup_pick(n):
    """Warm-up content's inverse-CDF draw without the whole cumulative sum (block ends and
    one recomputed block) gives np.searchsorted's index capped at n - 1 on numpy's cumsum
    of each category's column: targets on the sums themselves (ties go right), at 0, at and
    above the total, inside runs of zero interest, and a category nobody has interest in."""
    rng = np.random.default_rng(4)
    interests = rng.dirichlet(np.ones(6), 300).astype(np.float32)
    interests[:, 4] = 0.0
    interests[100:200, 1] = 0.0  # a run of zeros: flat cumulative sums
    rows = interests.take(rng.integers(0, 300, n), axis=0)
    cats = np.array([0, 1, 2, 4, 5])
    ends = kernels.get("warmup_cum")(rows, cats, 64)
    assert ends.shape == (5, -(-n // 64))
    targets, start = [], [0]
    for c in cats:
        cum = np.cumsum(rows[:, c].astype(np.float64))
        t = np.concatenate([cum[rng.integers(0, n, 20)], [0.0, cum[-1], cum[-1] * 2]])
        t = np.concatenate([t, rng.random(200) * cum[-1]])
        targets.append(t)
        start.append(start[-1] + len(t))
    got = kernels.get("warmup_pick")(rows, cats, ends, 64, np.concatenate(targets), np.array(start))
    for j, c in enumerate(cats):
        cum = np.cumsum(rows[:, c].astype(np.float64))
        assert ends[j, -1] == cum[-1]
        ref = np.minimum(np.searchsorted(cum, targets[j], side="right"), n - 1)
        assert_same(got[start[j] : start[j + 1]], ref)


def test_warmup_reach_compiled():
    """The compiled reach of warm-up views draws the same sessions from the same generator
    state as interest_sample category by category (a category nobody has interest in draws
    integers), and leaves the generator where it leaves it."""
    from simulation.warmups import interest_sample, reach_compiled

    rng = np.random.default_rng(5)
    rows = rng.dirichlet(np.ones(6), 3000).astype(np.float32)
    rows[:, 3] = 0.0
    cat = rng.choice([0, 2, 3, 5], 700)
    cats = np.unique(cat)
    a, b = np.random.default_rng(9), np.random.default_rng(9)
    ref = np.empty(len(cat), dtype=np.int64)
    for c in cats:
        views = np.flatnonzero(cat == c)
        ref[views] = interest_sample(rows[:, c].astype(np.float64), len(views), a)
    assert_same(reach_compiled(rows, cat, cats, b), ref)
    assert a.random() == b.random()


def test_session_twins():
    """The compiled twins of a tick's sessions under interest drift are numpy's: the same
    viewers and the same twin of every session, from the same generator (repeat viewers,
    one chronotype's viewers drawn many times)."""
    from simulation.config import BehaviourConfig, PlatformConfig, PopulationConfig
    from simulation.population import Population

    def make():
        pf = PlatformConfig(interest_drift=True)
        cfg = PopulationConfig(viewers=400, categories=4)
        return Population(cfg, BehaviourConfig(), 5, np.random.default_rng(9), pf)

    ref, got = make(), make()
    for hour in (3, 20):
        a = ref.draw_sessions(hour, 1, 60.0, np.random.default_rng(hour), kernel=False)
        b = got.draw_sessions(hour, 1, 60.0, np.random.default_rng(hour), kernel=True)
        assert_same(b, a)
        assert_same(got._twins[1], ref._twins[1])
        twin = ref._twins[1]
        assert (twin != np.arange(len(a))).sum() > 10  # repeat viewers
        assert (a[twin] == a).all()


@pytest.mark.parametrize("rho", [0.05, 0.3])
def test_decay_interests(rho):
    """The compiled daily decay of interests toward the baseline moves every row exactly
    as numpy's blocks do (several blocks, a last partial one, a baseline row of zeros)."""
    from simulation.config import BehaviourConfig, PlatformConfig, PopulationConfig
    from simulation.population import Population

    def make():
        pf = PlatformConfig(interest_drift=True, drift_decay_per_day=rho)
        cfg = PopulationConfig(viewers=1000, categories=7)
        pop = Population(cfg, BehaviourConfig(), 5, np.random.default_rng(9), pf)
        pop.interests[:] = np.random.default_rng(1).dirichlet(np.ones(7), 1000)
        pop.baseline[17] = 0
        return pop

    ref, got = make(), make()
    with np.errstate(divide="ignore", invalid="ignore"):
        ref.decay_interests(rows=300, kernel=False)
    got.decay_interests(rows=300, kernel=True)
    assert_same(got.interests, ref.interests)
    assert np.isnan(ref.interests[17]).all()
    assert not np.array_equal(ref.interests, make().interests)
