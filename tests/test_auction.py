"""The ad auction: second price per slot, GSP for positions, budgets never overspent."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from simulation.auction import gsp_positions, second_price
from simulation.distribution.interest_feed import PCTR_INTEREST_EXPONENT, pctr_factor


def test_highest_ecpm_wins_and_pays_second_price():
    ecpm = np.array([[10.0, 30.0, 20.0], [50.0, 5.0, 0.0]])
    winner, price = second_price(ecpm, reserve=1.0, allowance=np.full(3, 100.0))
    assert winner.tolist() == [1, 0]
    assert np.allclose(price, [20.0 / 1000, 5.0 / 1000])


def test_reserve_sets_floor_and_blocks_low_bids():
    ecpm = np.array([[10.0, 0.0], [0.5, 0.2]])
    winner, price = second_price(ecpm, reserve=2.0, allowance=np.full(2, 100.0))
    assert winner.tolist() == [0, -1]
    assert np.isclose(price[0], 2.0 / 1000) and price[1] == 0


def test_exhausted_bidder_gives_slots_to_runner_up():
    ecpm = np.tile([100.0, 40.0], (10, 1))
    # bidder 0 pays 0.04 per slot and can afford 3 slots
    winner, price = second_price(ecpm, reserve=0.0, allowance=np.array([0.125, 10.0]))
    assert (winner == 0).sum() == 3
    assert (winner == 1).sum() == 7
    assert price[winner == 0].sum() <= 0.125


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 40), st.integers(1, 6)), elements=st.floats(0, 200)
    ),
    arrays(np.float64, 6, elements=st.floats(0, 0.5)),
    st.floats(0, 20),
)
def test_allowance_never_exceeded(ecpm, allowance, reserve):
    allowance = allowance[: ecpm.shape[1]]
    winner, price = second_price(ecpm, reserve, allowance)
    spent = np.bincount(winner[winner >= 0], price[winner >= 0], minlength=len(allowance))
    assert np.all(spent <= allowance + 1e-9)
    sold = winner >= 0
    # A winner always bid at least the reserve and at least what it pays.
    assert np.all(ecpm[np.flatnonzero(sold), winner[sold]] >= reserve)
    assert np.all(price[sold] * 1000 <= ecpm[np.flatnonzero(sold), winner[sold]] + 1e-9)
    assert np.all(price[~sold] == 0)


def test_second_price_expected_revenue_uniform_values():
    """N iid U(0,1) values: expected price (N-1)/(N+1) (the closed form, tested at n=20000)."""
    rng = np.random.default_rng(7)
    for n_bidders in (2, 5):
        values = rng.random((20_000, n_bidders)) * 1000
        _, price = second_price(values, 0.0, np.full(n_bidders, 1e12))
        mean = price.mean()
        se = price.std(ddof=1) / np.sqrt(len(price))
        assert abs(mean - (n_bidders - 1) / (n_bidders + 1)) < 4 * se


def test_gsp_positions_charges_next_bid():
    bids = np.array([2.0, 1.0, 3.0])
    pctr = np.array([0.1, 0.3, 0.05])
    ranked, cpc = gsp_positions(bids * pctr, bids, 2)
    # scores 0.2, 0.3, 0.15 -> order 1, 0, 2
    assert ranked.tolist() == [1, 0]
    assert np.allclose(cpc, [0.2 / 0.3, 0.15 / 0.1])
    assert np.all(cpc <= bids[ranked])
    ranked, cpc = gsp_positions(np.array([0.0, 0.5]), np.array([1.0, 1.0]), 3)
    assert ranked.tolist() == [1] and cpc.tolist() == [0.0]


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 60),
    st.integers(1, 12),
    st.integers(1, 4),
    st.integers(0, 2**32 - 1),
    st.floats(0, 30),
    st.booleans(),
)
def test_grouped_auction_equals_dense_reference(a, c, k, seed, reserve, with_extra):
    """The optimised auction gives exactly the dense reference's winners and prices."""
    from simulation.auction import dense_ecpm, second_price_grouped

    rng = np.random.default_rng(seed)
    value = rng.uniform(0, 100, c)
    category = rng.integers(0, k, c)
    broad = rng.random(c) < 0.5
    bar = rng.uniform(0, 2, c) * (rng.random(c) < 0.5)
    segment = rng.integers(0, k, a)
    interest = rng.exponential(1, (a, k))
    factor = np.clip(interest, 0.05, 20) ** 0.5
    allowance = rng.uniform(0, 0.3, c)
    extra = None
    if with_extra:
        n = rng.integers(0, 2 * a)
        extra = (rng.integers(0, a, n), rng.integers(0, c, n))
    n_batch = int(rng.integers(1, 4))
    batch = rng.integers(0, n_batch, a)
    participate = rng.random((n_batch, c)) < 0.7
    ecpm = dense_ecpm(
        value, category, broad, bar, segment, interest, factor, extra, batch, participate
    )
    w_ref, p_ref = second_price(ecpm, reserve, allowance)
    w, p = second_price_grouped(
        value,
        category,
        broad,
        bar,
        segment,
        interest,
        factor,
        allowance,
        reserve,
        extra,
        batch,
        participate,
    )
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_allclose(p, p_ref, rtol=1e-12, atol=1e-15)


def test_pctr_factor_is_the_clipped_power():
    """The square root stands for the power 0.5 (every 1009th float32 in [0, 100], the clip
    edges and values beyond them): the same numbers, as the auction's digests rely on."""
    lo, hi = np.float32(0).view(np.uint32), np.float32(100).view(np.uint32)
    z = np.arange(lo, hi, 1009, dtype=np.uint32).view(np.float32)
    z = np.concatenate([z, np.float32([0.05, 20, 1e6, np.nextafter(np.float32(20), 0)])])
    want = np.clip(z, 0.05, 20) ** np.float32(PCTR_INTEREST_EXPONENT)
    got = pctr_factor(z.copy())
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)
