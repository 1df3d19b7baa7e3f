"""The ad auction: eCPM ranking, second-price payments, budgets that are never overspent.

Every ad slot is a separate auction among the bidders eligible for it. A bidder's eCPM for a
slot is ``bid per order x pCTR x pCVR x 1000`` (yuan per thousand impressions). The highest
eCPM above the reserve wins and pays the larger of the second-highest eCPM and the reserve
(per impression: eCPM / 1000) — the generalised second price with one slot per auction. For
search pages, :func:`gsp_positions` ranks several positions at once and charges each the
next one's bid per click.

Budgets: a winner whose cumulative charges this round would exceed its allowance loses the
slots past that point, which are auctioned again without it (a few rounds); slots still
unsold are returned unfilled. Charges therefore never exceed an allowance.
"""

import numpy as np


def second_price(
    ecpm: np.ndarray, reserve: float, allowance: np.ndarray, max_rounds: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Allocate ad slots one auction each, under per-bidder allowances.

    Parameters
    ----------
    ecpm
        (A, C) eCPM of bidder c in slot a (yuan per 1000 impressions); ineligible = 0.
    reserve
        Reserve eCPM; bids below it cannot win.
    allowance
        (C,) yuan each bidder may still spend.
    max_rounds
        Re-auction rounds for slots a budget-exhausted bidder had to give up.

    Returns
    -------
    winner : (A,) int64, bidder index or -1 (unsold)
    price : (A,) float64, yuan charged per impression (0 where unsold)
    """
    a, c = ecpm.shape
    winner = np.full(a, -1, dtype=np.int64)
    price = np.zeros(a)
    if a == 0 or c == 0:
        return winner, price
    left = allowance.astype(np.float64).copy()
    open_slots = np.arange(a)
    active = left > 0
    for _ in range(max_rounds):
        if len(open_slots) == 0 or not active.any():
            break
        sub = np.where(active[None, :], ecpm[open_slots], 0.0)
        if c >= 2:
            top2 = np.argpartition(-sub, 1, axis=1)[:, :2]
            v2 = np.take_along_axis(sub, top2, axis=1)
            first_is_0 = v2[:, 0] >= v2[:, 1]
            best = np.where(first_is_0, top2[:, 0], top2[:, 1])
            best_v = np.maximum(v2[:, 0], v2[:, 1])
            second_v = np.minimum(v2[:, 0], v2[:, 1])
        else:
            best = np.zeros(len(open_slots), dtype=np.int64)
            best_v = sub[:, 0]
            second_v = np.zeros(len(open_slots))
        wins = best_v >= max(reserve, 1e-12)
        pay = np.maximum(second_v, reserve) / 1000.0
        slots, bidders, pay = open_slots[wins], best[wins], pay[wins]
        # Charge in slot order; cut each bidder at its allowance.
        order = np.lexsort((slots, bidders))
        slots, bidders, pay = slots[order], bidders[order], pay[order]
        cum = np.cumsum(pay)
        starts = np.searchsorted(bidders, bidders, side="left")
        before = np.concatenate(([0.0], cum))[starts]
        spent_so_far = cum - before
        ok = spent_so_far <= left[bidders] + 1e-9
        winner[slots[ok]] = bidders[ok]
        price[slots[ok]] = pay[ok]
        left -= np.bincount(bidders[ok], weights=pay[ok], minlength=c)
        exhausted = np.unique(bidders[~ok])
        active[exhausted] = False
        active &= left > 1e-9
        open_slots = np.sort(slots[~ok])
    return winner, price


def gsp_positions(
    scores: np.ndarray, bids: np.ndarray, n_positions: int
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised second price for ranked positions (search ads).

    Parameters
    ----------
    scores
        (C,) ranking score of each bidder, ``bid per click x pCTR``.
    bids
        (C,) bid per click.
    n_positions
        Positions for sale.

    Returns
    -------
    ranked : (P,) bidder indices in position order (P <= n_positions)
    cpc : (P,) price per click: the next bidder's score divided by one's own pCTR (the
        smallest bid that keeps the position), never above one's own bid.
    """
    order = np.argsort(-scores, kind="stable")
    order = order[scores[order] > 0]
    ranked = order[:n_positions]
    if len(ranked) == 0:
        return ranked, np.zeros(0)
    nxt = np.append(scores[order], 0.0)[1 : len(ranked) + 1]
    pctr = scores[ranked] / np.maximum(bids[ranked], 1e-12)
    cpc = np.minimum(nxt / np.maximum(pctr, 1e-12), bids[ranked])
    return ranked, cpc
