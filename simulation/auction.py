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

from simulation import kernels


def _charge_in_order(
    slots: np.ndarray, bidders: np.ndarray, pay: np.ndarray, left: np.ndarray
) -> np.ndarray:
    """Which tentative wins are affordable: charges are applied in slot order per bidder and
    cut where the bidder's cumulative charge would pass what it has ``left``. Returns a mask
    over the (slots, bidders, pay) arrays, which must be sorted by (bidder, slot)."""
    cum = np.cumsum(pay)
    # Start of each bidder's run in the sorted arrays (an O(n) gather, not a search).
    counts = np.bincount(bidders, minlength=len(left))
    starts = (np.cumsum(counts) - counts)[bidders]
    before = np.concatenate(([0.0], cum))[starts]
    return cum - before <= left[bidders] + 1e-9


def _settle_round(
    open_slots: np.ndarray,
    best: np.ndarray,
    best_v: np.ndarray,
    second_v: np.ndarray,
    reserve: float,
    winner: np.ndarray,
    price: np.ndarray,
    left: np.ndarray,
    active: np.ndarray,
) -> np.ndarray:
    """Apply one round's tentative wins under budgets; returns the slots to re-auction."""
    wins = best_v >= max(reserve, 1e-12)
    pay = np.maximum(second_v, reserve) / 1000.0
    slots, bidders, pay = open_slots[wins], best[wins], pay[wins]
    # Order by (bidder, slot): open_slots is ascending, so a stable sort by bidder suffices.
    # (Bidder indices fit in int16 for any realistic market: numpy's radix sort, O(n).)
    key = bidders.astype(np.int16) if len(left) < 2**15 else bidders
    order = np.argsort(key, kind="stable")
    slots, bidders, pay = slots[order], bidders[order], pay[order]
    ok = _charge_in_order(slots, bidders, pay, left)
    winner[slots[ok]] = bidders[ok]
    price[slots[ok]] = pay[ok]
    left -= np.bincount(bidders[ok], weights=pay[ok], minlength=len(left))
    lost = ~ok
    active[bidders[lost]] = False
    active &= left > 1e-9
    # The slots to re-auction in ascending order (an O(A) scatter instead of a sort).
    rest = np.zeros(len(winner), dtype=bool)
    rest[slots[lost]] = True
    return np.flatnonzero(rest)


def second_price(
    ecpm: np.ndarray, reserve: float, allowance: np.ndarray, max_rounds: int = 6
) -> tuple[np.ndarray, np.ndarray]:
    """Allocate ad slots one auction each, under per-bidder allowances (dense reference).

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
        open_slots = _settle_round(
            open_slots, best, best_v, second_v, reserve, winner, price, left, active
        )
    return winner, price


def dense_ecpm(
    value: np.ndarray,
    category: np.ndarray,
    broad: np.ndarray,
    bar: np.ndarray,
    segment: np.ndarray,
    interest: np.ndarray,
    factor: np.ndarray,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    batch: np.ndarray | None = None,
    participate: np.ndarray | None = None,
) -> np.ndarray:
    """The (A, C) eCPM matrix that :func:`second_price_grouped` auctions without building
    it: ``value[c] * factor[a, category[c]]`` where bidder c is eligible for slot a (broad,
    or the slot's segment is c's category and ``interest[a, category[c]] >= bar[c]``, or
    (a, c) is an extra pair) and takes part in slot a's batch (``participate[batch[a], c]``)."""
    elig = broad[None, :] | (
        (segment[:, None] == category[None, :]) & (interest[:, category] >= bar[None, :])
    )
    if extra is not None:
        elig[extra[0], extra[1]] = True
    if participate is not None:
        elig &= participate[batch]
    return np.where(elig, value[None, :] * factor[:, category], 0.0)


def _run_heads(keys: np.ndarray) -> np.ndarray:
    """Whether each position starts a run of equal (sorted) keys, bool (n,)."""
    head = np.empty(len(keys), dtype=bool)
    head[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=head[1:])
    return head


def _continues(keys: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Whether position ``nxt`` (one past a run start) is still inside that run."""
    inside = nxt < len(keys)
    same = np.zeros(len(nxt), dtype=bool)
    same[inside] = keys[nxt[inside]] == keys[nxt[inside] - 1]
    return same


class _BroadBests:
    """Best and runner-up broad bidder per (batch, category) among the active bidders.

    ``b_idx`` lists the broad bidders sorted by (category, value descending). A bidder is
    live in a batch when it is active and takes part in that batch; its rank is its
    position among the live bidders of its category run. One pass over (batches x broad
    bidders) per round instead of a Python loop over batches.
    """

    def __init__(self, b_idx, category, value, participate, k):
        self.b_idx = b_idx
        self.cat = category[b_idx]
        self.val = value[b_idx]
        self.part = participate[:, b_idx]
        self.k = k
        head = _run_heads(self.cat)
        self.starts = np.flatnonzero(head)
        self.run = np.cumsum(head) - 1

    def __call__(self, active):
        n_batch = self.part.shape[0]
        b1 = np.zeros((n_batch, self.k))
        b2 = np.zeros((n_batch, self.k))
        i1 = np.full((n_batch, self.k), -1, dtype=np.int64)
        if len(self.b_idx) == 0:
            return b1, b2, i1
        live = self.part & active[self.b_idx]
        rank = np.cumsum(live, axis=1)
        # Live bidders before each category run's start, subtracted within the run.
        before = rank[:, self.starts] - live[:, self.starts]
        rank -= before[:, self.run]
        rows, cols = np.nonzero(live & (rank == 1))
        i1[rows, self.cat[cols]] = self.b_idx[cols]
        b1[rows, self.cat[cols]] = self.val[cols]
        rows, cols = np.nonzero(live & (rank == 2))
        b2[rows, self.cat[cols]] = self.val[cols]
        return b1, b2, i1


def second_price_grouped(
    value: np.ndarray,
    category: np.ndarray,
    broad: np.ndarray,
    bar: np.ndarray,
    segment: np.ndarray,
    interest: np.ndarray,
    factor: np.ndarray,
    allowance: np.ndarray,
    reserve: float,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
    batch: np.ndarray | None = None,
    participate: np.ndarray | None = None,
    max_rounds: int = 6,
    kernel: bool | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The same auction as ``second_price(dense_ecpm(...), ...)`` without the (A, C) matrix.

    A bidder's eCPM in a slot is its own value times a factor of the slot's viewer and the
    bidder's category, so among the broad bidders of one category only the two highest
    values can matter in any slot: the auction runs over (A, K) per-category bests plus a
    sparse list of targeted (slot, bidder) pairs. Exact, including ties broken towards the
    lower bidder index only up to floating-point equality.

    Parameters
    ----------
    value : (C,) bidder value (eCPM at factor 1)
    category : (C,) bidder category in 0..K-1
    broad : (C,) bool, eligible in every slot
    bar : (C,) interest bar for targeted bidders in their category's slots
    segment : (A,) category of each slot
    interest, factor : (A, K) the slot viewer's interest and eCPM factor per category
    allowance : (C,) yuan each bidder may spend
    reserve : reserve eCPM
    extra : optional (slots, bidders) pairs also eligible (e.g. learning exploration)
    batch, participate : optional (A,) batch of each slot and (B, C) whether a bidder takes
        part in a batch (pacing by throttling); default: one batch, everyone takes part
    kernel : use the compiled kernels (:mod:`simulation.kernels`) for the pair ordering, the
        broad bids and the settlement; None decides by slots x categories
    """
    a, k = factor.shape
    c = len(value)
    if participate is None:
        batch = np.zeros(a, dtype=np.int64)
        participate = np.ones((1, c), dtype=bool)
    winner = np.full(a, -1, dtype=np.int64)
    price = np.zeros(a)
    if a == 0 or c == 0:
        return winner, price
    left = allowance.astype(np.float64).copy()
    active = left > 0
    compiled = kernels.use(a * k, kernel)
    # Broad bidders sorted by (category, value descending).
    b_idx = np.flatnonzero(broad)
    b_idx = b_idx[np.lexsort((-value[b_idx], category[b_idx]))]
    # Targeted pairs: in-segment slots whose viewer clears the bar, plus extra pairs.
    p_slot, p_bid = [], []
    targeted = np.flatnonzero(~broad)
    for cat in np.unique(category[targeted]):
        t = targeted[category[targeted] == cat]
        s = np.flatnonzero(segment == cat)
        ok = interest[s, cat][:, None] >= bar[t][None, :]
        rows, cols = np.nonzero(ok)
        p_slot.append(s[rows])
        p_bid.append(t[cols])
    if extra is not None:
        keep = ~broad[extra[1]]
        p_slot.append(extra[0][keep])
        p_bid.append(extra[1][keep])
    p_slot = np.concatenate(p_slot) if p_slot else np.empty(0, dtype=np.int64)
    p_bid = np.concatenate(p_bid) if p_bid else np.empty(0, dtype=np.int64)
    if len(p_slot):
        if compiled:
            p_val = value[p_bid] * factor[p_slot, category[p_bid]]
            order = kernels.get("pair_order")(p_slot, p_bid, p_val, a)
        else:
            pair = np.unique(p_slot * c + p_bid)  # an extra pair may repeat an eligible one
            p_slot, p_bid = pair // c, pair % c
            p_val = value[p_bid] * factor[p_slot, category[p_bid]]
            order = np.lexsort((-p_val, p_slot))
        p_slot, p_bid, p_val = p_slot[order], p_bid[order], p_val[order]
    else:
        p_val = np.empty(0)
    if compiled:  # each slot's run of (sorted) pairs
        p_start = np.zeros(a + 1, dtype=np.int64)
        np.cumsum(np.bincount(p_slot, minlength=a), out=p_start[1:])
    is_open = np.ones(a, dtype=bool)
    open_slots = np.arange(a)
    broad_bests = _BroadBests(b_idx, category, value, participate, k)
    for _ in range(max_rounds):
        if len(open_slots) == 0 or not active.any():
            break
        n = len(open_slots)
        # Broad: best and runner-up value per batch and category among active bidders.
        b1, b2, i1 = broad_bests(active)
        if compiled:  # the same round in one pass over the open slots
            best, best_v, second_v = kernels.get("round_bids")(
                factor, open_slots, batch, b1, b2, i1, p_start, p_bid, p_val, active, participate
            )
        else:
            pos = np.full(a, -1, dtype=np.int64)
            pos[open_slots] = np.arange(n)
            f = factor[open_slots]
            rows = batch[open_slots]
            v = f * b1[rows]
            ar = np.arange(n)
            k1 = v.argmax(axis=1)
            v1 = v[ar, k1]
            v2 = f[ar, k1] * b2[rows, k1]
            if k >= 2:
                v[ar, k1] = -1.0
                v2 = np.maximum(v.max(axis=1), v2)
            broad_bidder = i1[rows, k1]
            # Targeted: best and runner-up pair per open slot among active bidders.
            pb_v = np.zeros(n)
            pb_i = np.full(n, -1, dtype=np.int64)
            ps_v = np.zeros(n)
            if len(p_slot):
                sel = active[p_bid] & is_open[p_slot] & participate[batch[p_slot], p_bid]
                ss, bb, vv_ = p_slot[sel], p_bid[sel], p_val[sel]
                if len(ss):
                    h = np.flatnonzero(_run_heads(ss))
                    pb_v[pos[ss[h]]] = vv_[h]
                    pb_i[pos[ss[h]]] = bb[h]
                    nxt = h + 1
                    two = _continues(ss, nxt)
                    ps_v[pos[ss[h][two]]] = vv_[nxt[two]]
            take_broad = v1 >= pb_v
            best = np.where(take_broad, broad_bidder, pb_i)
            best_v = np.where(take_broad, v1, pb_v)
            second_v = np.where(take_broad, np.maximum(v2, pb_v), np.maximum(ps_v, v1))
            best = np.where(best_v > 0, best, 0)
        settle = kernels.get("settle") if compiled else _settle_round
        rest = settle(open_slots, best, best_v, second_v, reserve, winner, price, left, active)
        is_open[:] = False
        is_open[rest] = True
        open_slots = rest
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
