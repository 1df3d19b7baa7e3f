"""Optional compiled kernels (numba) for the per-slot passes of a large tick.

The numpy code in :mod:`simulation.population`, :mod:`simulation.auction` and
:mod:`simulation.distribution.interest_feed` is the reference implementation; each kernel
here fuses one of its sequences of array passes into a single loop over the slots, consuming
the *same* numpy-drawn uniform arrays in the same order, so a run takes the same random draws
with or without the kernels. The arithmetic follows numpy's dtypes and operation order step
by step (float32 where numpy works in float32, NEP 50 casts of Python scalars, the same
summation order as ``bincount``/``cumsum``) and uses only correctly rounded operations
(+, -, *, /, comparisons, floor; no fast-math), so results are bit-identical.
``tests/test_kernels.py`` checks every kernel against the numpy reference.

Dispatch: :func:`use` is true only when numba is importable and the work is at least
:data:`MIN_SIZE` elements (or when a caller forces it), so the test suite and small runs never
import numba or compile anything; once a call of that size has happened in the process (a
large run), calls of :data:`MIN_SIZE_WARM` elements on use the kernels too. Kernels are
compiled on first use and cached on disk, so later processes load them (:func:`cache_folder`:
a folder of the user's, never ``__pycache__`` beside an installed package).
Measurements: docs/PERFORMANCE.md.
"""

import math
import os
import platform
from pathlib import Path

import numpy as np

MIN_SIZE = 50_000
"""Slots or impressions in one call (for the auction: slots x categories) from which the
compiled kernel is used."""

MIN_SIZE_WARM = 2_000
"""Once a call of MIN_SIZE has loaded numba in this process (a large run), calls from this
size on use the kernels too: the import is paid, and the kernels win from here on."""

FORCE: bool | None = {"0": False, "1": True}.get(os.environ.get("SNOWBALL_KERNELS", ""))
"""Process-wide override of the size rule (None: by size). Set from the environment variable
``SNOWBALL_KERNELS`` (``0`` never, ``1`` always) for A/B comparisons of whole runs."""

_jit: dict[str, object] = {}
_available: bool | None = None
_options_set = False
_warm = False
"""Set by the first call that met MIN_SIZE by the size rule (forced calls do not count)."""


def available() -> bool:
    """Whether numba can be imported (checked once)."""
    global _available
    if _available is None:
        try:
            import numba  # noqa: F401

            _available = True
        except ImportError:  # pragma: no cover - depends on the environment
            _available = False
    return _available


def use(n: int, force: bool | None = None) -> bool:
    """Use a kernel for ``n`` elements? ``force`` True/False overrides the size rule."""
    if force is None:
        force = FORCE
    if force is not None:
        if force and not available():
            raise RuntimeError("numba is not installed; the compiled kernels are unavailable")
        return force
    global _warm
    if n >= MIN_SIZE and available():
        _warm = True
    return n >= (MIN_SIZE_WARM if _warm else MIN_SIZE) and available()


def use_once_loaded(n: int, force: bool | None = None) -> bool:
    """:func:`use` for a pass that runs rarely (once a day): compiled only when a per-tick
    pass has already loaded numba in this process (a large run) and ``n`` is at least
    :data:`MIN_SIZE_WARM`, or when forced. Such a pass never loads numba itself: importing
    it costs about 0.6 s, more than a daily pass saves in a small market (a 10,000-viewer
    run would otherwise import it at its first day's end)."""
    if force is None:
        force = FORCE
    if force is not None:
        return use(n, force)
    return _warm and n >= MIN_SIZE_WARM and available()


def _codegen_options() -> None:
    """Keep LLVM's x86 "cmov converter" from turning the kernels' data-dependent selects
    (Bernoulli outcomes, alias-table keep/alias) back into branches: with random outcomes
    those branches mispredict half the time, and the free-slot kernel ran 4x slower with
    them. A code-generation heuristic only; results are unchanged."""
    global _options_set
    if _options_set:
        return
    _options_set = True
    if platform.machine().lower() in ("x86_64", "amd64"):
        import llvmlite.binding as ll

        ll.set_option("snowball", "-x86-cmov-converter=false")


def cache_folder() -> Path:
    """Where the compiled kernels are cached: ``snowball/numba`` in the user's cache folder
    (``$XDG_CACHE_HOME``, else ``~/.cache``; ``%LOCALAPPDATA%`` on Windows,
    ``~/Library/Caches`` on macOS), under a subfolder per installed copy of this module
    (numba names it after the module's folder and a hash of its path).

    numba's own ``cache=True`` writes into ``__pycache__`` beside the source, that is into
    site-packages for an installed wheel (or, when that is read-only, into numba's folder in
    the user's cache). Setting ``NUMBA_CACHE_DIR`` instead would move the cache of every other
    numba function in the process too: the kernels get a cache locator of their own
    (:func:`numba_cache`). A user who has set ``NUMBA_CACHE_DIR`` keeps it: then numba's own
    cache is used, in that folder.
    """
    if os.name == "nt":  # pragma: no cover - not tested here
        base = os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local"
    elif platform.system() == "Darwin":  # pragma: no cover - not tested here
        base = Path.home() / "Library" / "Caches"
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "snowball" / "numba"


def numba_cache(py_func) -> object | None:
    """A numba function cache for ``py_func`` in :func:`cache_folder`, or None when that
    folder cannot be made or written (then the kernel is compiled in each process, and
    nothing is written).

    It uses numba's cache classes (``numba.core.caching``: the same index and object files,
    the same checks of the source's hash, the CPU and numba's version), with a locator that
    names the folder; numba has no public per-function setting for it. The classes exist
    from numba 0.61 (the lowest allowed) to 0.68; a numba without them gets no cache, and
    tests/test_kernels.py fails (it checks that the cache is written there, and that nothing
    is written beside the module)."""
    try:
        from numba.core import caching

        caching._CacheLocator, caching._SourceFileBackedLocatorMixin  # noqa: B018
    except (ImportError, AttributeError):  # pragma: no cover - a numba that moved them
        return None
    folder = str(cache_folder())

    class Locator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
        def __init__(self, py_func, py_file):
            self._py_file = py_file
            self._lineno = py_func.__code__.co_firstlineno
            self._cache_path = os.path.join(folder, self.get_suitable_cache_subpath(py_file))

        def get_cache_path(self):
            return self._cache_path

    class Impl(caching.CompileResultCacheImpl):
        _locator_classes = (Locator,)

    class Cache(caching.FunctionCache):
        _impl_class = Impl

    try:
        return Cache(py_func)
    except RuntimeError:  # no locator: the folder cannot be made or written
        return None


_INLINE = ("pass_divmod",)
"""Helpers that kernels call: compiled (``inline="always"``) before the first kernel is, and
put in this module's globals, where numba resolves them when it compiles a kernel. Called
from Python (the tests), the compiled helper gives the same values."""


def _compile_inline(numba) -> None:
    for name in _INLINE:
        f = globals()[f"_{name}"]
        if not hasattr(f, "py_func"):  # not compiled yet
            globals()[f"_{name}"] = numba.njit(inline="always")(f)


def get(name: str):
    """The compiled version of the kernel ``name`` (compiled, or loaded from cache, once).

    The first call compiles (or loads from the cache) with Ctrl-C deferred: numba and llvmlite
    run Python callbacks from C during compilation, and a KeyboardInterrupt raised in one is
    printed and dropped, so an interrupt would be lost and the run would go on. The interrupt
    is re-delivered when the call returns."""
    f = _jit.get(name)
    if f is None:
        import numba

        _codegen_options()
        _compile_inline(numba)
        py_func = globals()[f"_{name}"]
        if numba.config.CACHE_DIR:  # the user's NUMBA_CACHE_DIR: numba's own cache, there
            dispatcher = numba.njit(cache=True, nogil=True)(py_func)
        else:
            dispatcher = numba.njit(nogil=True)(py_func)
            cache = numba_cache(py_func)
            if cache is not None:  # what njit(cache=True) does, with the kernels' own folder
                dispatcher._cache = cache

        def first_call(*args):
            _jit[name] = dispatcher
            return deferring_interrupts(dispatcher, *args)

        f = _jit[name] = first_call
    return f


def deferring_interrupts(fn, *args):
    """``fn(*args)`` with SIGINT held back until it returns, then handled as the process's
    handler would have (KeyboardInterrupt by default; nothing if it was ignored). Only in the
    main thread (elsewhere Python delivers no signals)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return fn(*args)
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        result = fn(*args)
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(signal.SIGINT, caught[0])  # default_int_handler raises KeyboardInterrupt
    return result


# ----------------------------------------------------------------------------- kernels
# Plain Python over numpy arrays; only ever run compiled (see ``get``).


def _sample_categories(cum, session, u):
    """Categories by inverse CDF: count of ``cum[session[i]] < u[i] * cum[session[i], -1]``
    (float32 like numpy), capped at K - 1."""
    n = len(session)
    k = cum.shape[1]
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        row = session[i]
        x = u[i] * cum[row, k - 1]
        c = 0
        for j in range(k):
            if cum[row, j] < x:
                c += 1
        out[i] = min(c, k - 1)
    return out


def _free_interest(interests, sess, cat, u, eps, k_out):
    """For the free slots that do not explore (``u >= eps``): the relative interest
    (float64) of the slot's viewer in its category, and per category the sum of these and
    the number of such slots (bincount order, so the sums match numpy's)."""
    n = len(sess)
    k = interests.shape[1]
    kf = np.float32(k)
    z = np.zeros(n, dtype=np.float64)
    z_sum = np.zeros(k_out, dtype=np.float64)
    count = np.zeros(k_out, dtype=np.float64)
    for i in range(n):
        if u[i] < eps:
            continue
        c = cat[i]
        zi = np.float64(interests[sess[i], c] * kf)
        z[i] = zi
        z_sum[c] += zi
        count[c] += 1.0
    return z, z_sum, count


def _free_route(u, eps, platform, z, sess, viewer, follow, affinity, cat, z_mean, filled_k,
                a_k, b_k, start, n_live_k, prob, alias, live_idx, head):  # fmt: skip
    """Every free slot from its one uniform ``u``: exploration (``u < eps``; a uniform live
    stream of the category, of any category when none is live, or of the whole platform),
    else fill, routing to precise rooms and the alias draw, each decision passing on the
    rescaled uniform it leaves. Returns the viewer, stream, session, follow slot (-1 if
    none) and affinity of the filled slots, in slot order (the follow slot and affinity
    found in the session's ``follow``/``affinity`` row, as ``follow_lookup`` finds them).
    ``prob``/``alias`` hold the alias tables of the imprecise component (first L entries)
    and of the precise one (next L), alias indices relative to their own table. The
    returned arrays start with ``head`` unwritten rows, room for the tick's other
    impressions (so that they need not be concatenated with the free ones).
    Branch-free on the routing outcomes: every slot computes both routes and selects, with
    an unfilled slot's values clamped so that its indices stay in range (a filled slot's are
    unchanged: its w, x <= 1 already)."""
    n = len(u)
    n_l = len(live_idx)
    out_v = np.empty(head + n, dtype=np.int64)
    out_s = np.empty(head + n, dtype=np.int64)
    out_q = np.empty(head + n, dtype=np.int64)
    out_f = np.empty(head + n, dtype=np.int64)
    out_a = np.empty(head + n, dtype=np.float32)
    n_f = follow.shape[1]
    q = head
    # A 64-bit filter of each session's followed streams (bit ``stream & 63``): most picks
    # are not follows, and one bit test rules them out without scanning the follow row,
    # whose data-dependent exit (on a match, or an unfilled slot meeting an empty entry)
    # cost more than the rest of the slot. No false negatives, so the same slots as a scan.
    bloom = np.zeros(follow.shape[0], dtype=np.uint64)
    for r in range(follow.shape[0]):
        bits = np.uint64(0)
        for col in range(n_f):
            if follow[r, col] >= 0:
                bits |= np.uint64(1) << np.uint64(follow[r, col] & 63)
        bloom[r] = bits
    for i in range(n):
        c = cat[i]
        if u[i] < eps:
            w = u[i] / eps * (1 - 1e-9)
            if platform:
                pick = live_idx[np.int64(w * n_l)]
            else:
                m = n_live_k[c]
                pool = m if m > 0 else n_l
                j = (start[c] if m > 0 else 0) + np.int64(w * pool)
                pick = live_idx[min(j, n_l - 1)]
        else:
            v = (u[i] - eps) / (1 - eps)
            f = filled_k[c]
            fill = np.int64(v < f)
            w = min(v / max(f, 1e-300), 1.0)
            r = z[i] / max(z_mean[c], 1e-12)
            rb = r * b_k[c]
            p_b = rb / max(a_k[c] + rb, 1e-300)
            use_b = np.int64(w < p_b)
            x_b = w / max(p_b, 1e-300)
            x_a = (w - p_b) / max(1 - p_b, 1e-300)
            # Selects, not branches, on the random outcomes (see _codegen_options).
            x = x_b if use_b else x_a
            y = (x * (1 - 1e-9)) * n_live_k[c]
            j = min(start[c] + np.int64(y), n_l - 1)
            jj = j + n_l * use_b
            frac = y - np.floor(y)
            keep = np.int64(frac < prob[jj])
            chosen = keep * j + (1 - keep) * alias[jj]
            pick = fill * live_idx[chosen] - (1 - fill)
        row = sess[i]
        slot = -1
        aff = np.float32(0)
        maybe = (bloom[row] >> np.uint64(pick & 63)) & np.uint64(1)
        for col in range(n_f if maybe else 0):  # an unfilled slot may match an empty entry
            if follow[row, col] == pick:
                slot = col
                aff = affinity[row, col]
                break
        out_v[q] = viewer[row]
        out_s[q] = pick
        out_q[q] = row
        out_f[q] = slot
        out_a[q] = aff
        q += np.int64(pick >= 0)
    return out_v[:q], out_s[:q], out_q[:q], out_f[:q], out_a[:q]


def _alias_tables(weight, counts, totals):
    """``interest_feed.alias_tables`` compiled: the same Vose construction step for step
    (the same float64 operations in the same order, the same stack discipline), so the same
    tables."""
    n = len(weight)
    prob = np.ones(n)
    alias = np.arange(n)
    scaled = np.empty(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    start = 0
    for g in range(len(counts)):
        m = counts[g]
        if m == 0:
            continue
        total = totals[g]
        if total > 0 and m > 1:
            if total >= 1e-300:
                f = m / total
                for i in range(m):
                    scaled[i] = weight[start + i] * f
            else:  # a (nearly) subnormal total: m / total could overflow
                for i in range(m):
                    scaled[i] = weight[start + i] / total * m
            ns = 0
            nl = 0
            for i in range(m):
                if scaled[i] < 1.0:
                    small[ns] = i
                    ns += 1
                if scaled[i] >= 1.0:
                    large[nl] = i
                    nl += 1
            while ns > 0 and nl > 0:
                ns -= 1
                s_i = small[ns]
                l_i = large[nl - 1]
                prob[start + s_i] = scaled[s_i]
                alias[start + s_i] = l_i + start
                scaled[l_i] -= 1.0 - scaled[s_i]
                if scaled[l_i] < 1.0:
                    nl -= 1
                    small[ns] = large[nl]
                    ns += 1
        start += m
    return prob, alias


def _round_bids(factor, open_slots, batch, b1, b2, i1, p_start, p_bid, p_val, active, participate):
    """One round of second_price_grouped for every open slot: the best broad bid (first
    maximum over categories of ``factor x b1``) and its runner-up, the best two targeted
    pairs of active, participating bidders (pairs sorted by value within the slot's run
    ``p_start[a]:p_start[a + 1]``), and their combination into the winner, its value and the
    second price value."""
    n = len(open_slots)
    k = factor.shape[1]
    best = np.empty(n, dtype=np.int64)
    best_v = np.empty(n, dtype=np.float64)
    second_v = np.empty(n, dtype=np.float64)
    for i in range(n):
        a = open_slots[i]
        row = batch[a]
        # Broad: one pass keeping the best (first maximum) and the best of the others.
        # Branch-free (selects): which category wins is random across slots, so branches
        # would mispredict. Values are >= 0, so min/max reproduce the branches exactly:
        # ``other`` never exceeds v1, and a tie keeps the first maximum.
        v1 = np.float64(factor[a, 0]) * b1[row, 0]
        k1 = 0
        other = -1.0
        for j in range(1, k):
            v = np.float64(factor[a, j]) * b1[row, j]
            other = max(other, min(v, v1))
            k1 = j if v > v1 else k1
            v1 = max(v1, v)
        v2 = np.float64(factor[a, k1]) * b2[row, k1]
        if k >= 2 and other > v2:
            v2 = other
        # Targeted: the first two eligible pairs of the slot's run.
        pb_v = 0.0
        pb_i = -1
        ps_v = 0.0
        found = 0
        for x in range(p_start[a], p_start[a + 1]):
            b = p_bid[x]
            if active[b] and participate[row, b]:
                if found == 0:
                    pb_v = p_val[x]
                    pb_i = b
                    found = 1
                else:
                    ps_v = p_val[x]
                    break
        if v1 >= pb_v:
            w = i1[row, k1]
            wv = v1
            sv = max(v2, pb_v)
        else:
            w = pb_i
            wv = pb_v
            sv = max(ps_v, v1)
        best[i] = w if wv > 0 else 0
        best_v[i] = wv
        second_v[i] = sv
    return best, best_v, second_v


def _pair_order(p_slot, p_bid, p_val, a):
    """Targeted (slot, bidder) pairs ordered by slot, then value descending, then bidder,
    without repeats: the indices into the given pairs that ``np.unique`` of the pair codes
    followed by ``np.lexsort((-value, slot))`` would produce (counting sort by slot, then an
    insertion sort within each slot's few pairs)."""
    n = len(p_slot)
    start = np.zeros(a + 1, dtype=np.int64)
    for i in range(n):
        start[p_slot[i] + 1] += 1
    for s in range(a):
        start[s + 1] += start[s]
    fill = start.copy()
    idx = np.empty(n, dtype=np.int64)
    for i in range(n):
        s = p_slot[i]
        idx[fill[s]] = i
        fill[s] += 1
    out = np.empty(n, dtype=np.int64)
    m = 0
    for s in range(a):
        lo = start[s]
        hi = start[s + 1]
        for x in range(lo + 1, hi):
            cur = idx[x]
            v = p_val[cur]
            b = p_bid[cur]
            y = x - 1
            while y >= lo and (p_val[idx[y]] < v or (p_val[idx[y]] == v and p_bid[idx[y]] > b)):
                idx[y + 1] = idx[y]
                y -= 1
            idx[y + 1] = cur
        for x in range(lo, hi):
            if x > lo and p_bid[idx[x]] == p_bid[idx[x - 1]]:
                continue
            out[m] = idx[x]
            m += 1
    return out[:m]


def _settle(open_slots, best, best_v, second_v, reserve, winner, price, left, active):
    """auction._settle_round in one pass: tentative wins charged per bidder in slot order
    (counting sort by bidder; the same running sum as numpy's global cumsum), cut where a
    bidder's allowance runs out. Updates winner, price, left and active in place and returns
    the slots to re-auction, ascending."""
    n = len(open_slots)
    c = len(left)
    thr = max(reserve, 1e-12)
    start = np.zeros(c + 1, dtype=np.int64)
    m = 0
    for i in range(n):
        if best_v[i] >= thr:
            start[best[i] + 1] += 1
            m += 1
    for b in range(c):
        start[b + 1] += start[b]
    fill = start.copy()
    order = np.empty(m, dtype=np.int64)
    for i in range(n):
        if best_v[i] >= thr:
            b = best[i]
            order[fill[b]] = i
            fill[b] += 1
    spent = np.zeros(c, dtype=np.float64)
    lost = np.zeros(len(winner), dtype=np.bool_)
    cum = 0.0
    before = 0.0
    prev = -1
    for x in range(m):
        i = order[x]
        b = best[i]
        pay = max(second_v[i], reserve) / 1000.0
        if b != prev:
            before = cum
            prev = b
        cum += pay
        slot = open_slots[i]
        if cum - before <= left[b] + 1e-9:
            winner[slot] = b
            price[slot] = pay
            spent[b] += pay
        else:
            active[b] = False
            lost[slot] = True
    for b in range(c):
        left[b] -= spent[b]
        active[b] = active[b] and left[b] > 1e-9
    return np.flatnonzero(lost)


def _follow_top(check, follow, affinity, reserved, live, k_max):
    """InterestFeed._follow_channel's choice for each checked session: up to ``k_max`` live
    followed rooms (or the booked room, key 0.5, unless also followed), highest affinity
    first, ties to the earlier column (numpy's stable argsort). Returns the index into
    ``check``, stream and booked flag of each shown room, and the count per session."""
    n = len(check)
    f = follow.shape[1]
    rows = np.empty(n * k_max, dtype=np.int64)
    streams = np.empty(n * k_max, dtype=np.int64)
    booked = np.empty(n * k_max, dtype=np.bool_)
    count = np.zeros(n, dtype=np.int64)
    key = np.empty(f + 1, dtype=np.float32)
    neg = np.float32(-1.0)
    gone = np.float32(-2.0)
    m = 0
    for i in range(n):
        row = check[i]
        r = reserved[i]
        dup = False
        for j in range(f):
            s = follow[row, j]
            key[j] = affinity[row, j] if (s >= 0 and live[s]) else neg
            if s == r:
                dup = True
        key[f] = np.float32(0.5) if (r >= 0 and live[r] and not dup) else neg
        for _ in range(k_max):
            best = -1
            best_key = neg
            for j in range(f + 1):
                if key[j] > best_key:
                    best_key = key[j]
                    best = j
            if best < 0:
                break
            rows[m] = i
            streams[m] = follow[row, best] if best < f else r
            booked[m] = best == f
            key[best] = gone
            count[i] += 1
            m += 1
    return rows[:m], streams[:m], booked[:m], count


def _split_slots(cum, remaining, n_ad, u):
    """Sessions.sample_categories for every slot (inverse CDF over the session's ``cum``
    row, float32 like numpy) fused with the split into ad slots (the first ``n_ad[i]`` of
    session i's ``remaining[i]`` slots) and the others: session and category of each, in
    slot order."""
    n_sess = len(remaining)
    k = cum.shape[1]
    total = 0
    ads = 0
    for i in range(n_sess):
        total += remaining[i]
        ads += n_ad[i]
    ad_sess = np.empty(ads, dtype=np.int64)
    ad_cat = np.empty(ads, dtype=np.int64)
    rest_sess = np.empty(total - ads, dtype=np.int64)
    rest_cat = np.empty(total - ads, dtype=np.int64)
    x = 0
    p = 0
    q = 0
    for i in range(n_sess):
        top = cum[i, k - 1]
        for j in range(remaining[i]):
            t = u[x] * top
            c = 0
            for m in range(k):
                if cum[i, m] < t:
                    c += 1
            c = min(c, k - 1)
            if j < n_ad[i]:
                ad_sess[p] = i
                ad_cat[p] = c
                p += 1
            else:
                rest_sess[q] = i
                rest_cat[q] = c
                q += 1
            x += 1
    return ad_sess, ad_cat, rest_sess, rest_cat


def _observe_counts(pair, entered, dwell, bought, need, minutes, cvr, n_streams, c, levels):
    """AudienceBaseline.observe's counting in one pass over the impressions: the (stream,
    cell) impression counts and per cell, and over the entries (in impression order, as
    ``bincount`` sums) the per-stream predicted minutes and orders and the per-cell and
    per-need-cell entries, minutes and orders. Counts as float64 (exact integers)."""
    joint = np.zeros(n_streams * c, dtype=np.float64)
    n_c = np.zeros(c, dtype=np.float64)
    exp_dwell = np.zeros(n_streams, dtype=np.float64)
    exp_orders = np.zeros(n_streams, dtype=np.float64)
    e_c = np.zeros(c, dtype=np.float64)
    d_c = np.zeros(c, dtype=np.float64)
    e_n = np.zeros(c * levels, dtype=np.float64)
    o_n = np.zeros(c * levels, dtype=np.float64)
    j = 0
    for i in range(len(pair)):
        p = pair[i]
        joint[p] += 1.0
        s = p // c
        cell = p - s * c
        n_c[cell] += 1.0
        if entered[i]:
            nc = cell * levels + np.int64(need[j])
            j += 1
            exp_dwell[s] += minutes[cell]
            exp_orders[s] += cvr[nc]
            e_c[cell] += 1.0
            d_c[cell] += dwell[i]
            e_n[nc] += 1.0
            o_n[nc] += 1.0 if bought[i] else 0.0
    return joint, n_c, exp_dwell, exp_orders, e_c, d_c, e_n, o_n


def _audience_pairs(stream, rank, session, z_bits, affinity, is_fan, activity, bins):
    """estimates.audience_counts's cell index in one pass over the impressions: the (row,
    cell) index of each (:func:`simulation.estimates.pair_index`, with the stream's row
    ``rank[stream]`` in the tick's table: z bin from the float32 bits of z, fan level, the
    session's activity bin). ``bins``: estimates' (CELLS, FAN_LEVELS x ACTIVITY_BINS,
    ACTIVITY_BINS, _Z_OFFSET, Z_BINS - 1)."""
    cells, fa_levels, act_bins, z_offset, z_top = bins
    n = len(stream)
    pair = np.empty(n, dtype=np.int64)
    for i in range(n):
        zb = (z_bits[i] >> 22) - z_offset
        zb = min(max(zb, 0), z_top)
        fan = (1 if affinity[i] >= 0.5 else 0) + (1 if is_fan[i] else 0)
        cell = zb * fa_levels + fan * act_bins + activity[session[i]]
        pair[i] = rank[stream[i]] * cells + cell
    return pair


def _drift_rows(add, lost, winner, snapshot, viewers, interests, k):
    """Population.drift_interests's update after the weights, in one pass: each lost twin's
    weights added to its winner's (in order, as ``np.add.at``), then for every written
    session x <- (x + A) / (1 + W) in float32 (W summed column by column, as
    ``row_sums``), stored in its viewer's row of ``interests`` (N x k, float32)."""
    n = len(viewers)
    keep = np.ones(n, dtype=np.bool_)
    for i in range(len(lost)):
        a = np.int64(lost[i]) * k
        w = np.int64(winner[i]) * k
        keep[lost[i]] = False
        for j in range(k):
            add[w + j] += add[a + j]
    one = np.float32(1)
    for i in range(n):
        if not keep[i]:
            continue
        r = np.int64(i) * k
        total = add[r]
        for j in range(1, k):
            total += add[r + j]
        total += one
        v = viewers[i]
        for j in range(k):
            interests[v, j] = (add[r + j] + snapshot[i, j]) / total


def _pass_divmod(x, c, whole):
    """numpy's divmod (npy_divmod) of a minute ``x >= 0`` by its room's pass ``c > 0``: the
    whole passes before ``x`` (float) and the position within the pass.

    ``whole``: every cycle ``c`` is a whole number of minutes. Then the remainder is
    ``x - q c`` with ``q = floor(x / c)``, corrected by one ``c`` when the division rounded
    ``q`` one off; every step is exact (``q c`` is an integer below 2**53; ``x - q c`` is at
    most ``x`` in size and on ``x``'s grid; the correction keeps both), so it is fmod's
    value, bit for bit, without fmod's cost (a library call per element). Then ``x - mod``
    is ``q c`` exactly, so numpy's floor quotient ``(x - mod) / c`` (rounded) is ``q``
    itself, with no second division. Otherwise fmod, and numpy's rounding of the quotient."""
    if whole:
        fl = math.floor(x / c)
        mod = x - fl * c
        if mod < 0.0:
            mod += c
            fl -= 1.0
        elif mod >= c:
            mod -= c
            fl += 1.0
        return np.float64(fl), mod
    mod = x % c  # exact: fmod for x >= 0, c > 0
    div = (x - mod) / c
    fl = 0.0
    if div != 0.0:
        fl = math.floor(div)
        if div - fl > 0.5:
            fl += 1.0
    return np.float64(fl), mod


def _show_place(s, u, tick, clock, cycle, start, n_items, clip, whole):
    """RunOfShow.place in one pass: the item slot on air at each impression's minute since
    its room went live, ``clock[s[i]] + u[i] x tick`` (the product in float32, as numpy
    multiplies a float32 array by a Python float, then added in float64): the count of item
    starts after the first at or before the minute within the pass, capped at the room's
    last item when ``clip``; then the impressions per (room, item slot), float64 (rooms x
    slots,), counted in a second loop (the integers ``bincount`` gives: counting inside the
    first loop made the whole pass twice as slow). The minutes are not stored
    (RunOfShow.minute_at gives the entrants' own). ``whole``: every cycle is a whole number
    of minutes (_pass_divmod)."""
    n = len(s)
    k = start.shape[1]
    item = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = s[i]
        rem = _pass_divmod(clock[r] + np.float64(u[i] * tick), cycle[r], whole)[1]
        c = 0
        for j in range(1, k):
            if rem >= start[r, j]:
                c += 1
        if clip:
            c = min(c, n_items[r] - 1)
        item[i] = c
    counts = np.zeros(len(cycle) * k, dtype=np.int64)
    for i in range(n):
        counts[np.int64(s[i]) * k + item[i]] += 1
    return item, counts.astype(np.float64)


def _show_cross_sell(s, minute, dwell, cycle, start, length, appeal, price_term, whole):
    """RunOfShow.cross_sell in one pass: per visit to room ``s[i]`` from ``minute[i]`` to
    ``minute[i] + dwell[i]``, the sum over items of ``appeal[j] x price_term[i, j] x`` the
    item's minutes on air during the visit (:func:`_show_overlap`'s), multiplied and summed
    in numpy's order (a row sum of few items adds them left to right)."""
    n = len(s)
    k = start.shape[1]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        r = s[i]
        fa, ra = _pass_divmod(minute[i], cycle[r], whole)
        fb, rb = _pass_divmod(minute[i] + dwell[i], cycle[r], whole)
        total = 0.0
        for j in range(k):
            ln = length[r, j]
            st = start[r, j]
            ca = min(max(ra - st, 0.0), ln)
            cb = min(max(rb - st, 0.0), ln)
            w = appeal[j] * price_term[i, j] * ((fb * ln + cb) - (fa * ln + ca))
            if j == 0:
                total = w
            else:
                total += w
        out[i] = total
    return out


def _show_overlap(s, minute, dwell, cycle, start, length, whole):
    """RunOfShow.overlap in one pass: the minutes of each item on air during the visits to
    rooms ``s`` from ``minute`` to ``minute + dwell``, (n, k): the cumulative airtime at the
    end less at the start, each ``full passes x length + clip(rem - start, 0, length)`` with
    numpy's divmod (:func:`_pass_divmod`)."""
    n = len(s)
    k = start.shape[1]
    out = np.empty((n, k), dtype=np.float64)
    for i in range(n):
        r = s[i]
        fa, ra = _pass_divmod(minute[i], cycle[r], whole)
        fb, rb = _pass_divmod(minute[i] + dwell[i], cycle[r], whole)
        for j in range(k):
            ln = length[r, j]
            st = start[r, j]
            ca = min(max(ra - st, 0.0), ln)
            cb = min(max(rb - st, 0.0), ln)
            out[i, j] = (fb * ln + cb) - (fa * ln + ca)
    return out


def _warmup_cum(rows, categories, block):
    """WarmupContent.step's cumulative interest of the tick's sessions, per category about
    to start, kept only at the end of every ``block`` sessions, float64 (categories x
    blocks; the last column is the total): ``np.cumsum`` of the sessions' interest ``rows``
    (n, K) in the category (float32 widened to float64), added left to right as numpy's
    cumsum does; the rows are read once, in order, for every category.
    :func:`_warmup_pick` recomputes the sums within one block from its start, exactly."""
    n = rows.shape[0]
    m = len(categories)
    n_blocks = (n + block - 1) // block
    ends = np.empty((m, n_blocks), dtype=np.float64)
    total = np.zeros(m, dtype=np.float64)
    for b in range(n_blocks):
        for i in range(b * block, min((b + 1) * block, n)):
            for j in range(m):
                total[j] += np.float64(rows[i, categories[j]])
        for j in range(m):
            ends[j, b] = total[j]
    return ends


def _drift_weights(session, categories, n, k, exposure, entered, entry_weight):
    """Population.drift_interests's per-(session, category) weights, float32 (n x k): the
    impression count times ``exposure`` (float32, as numpy's multiply with dtype float32),
    then each entry's ``entry_weight`` added in entry order (as ``np.add.at``). The counts
    are kept in the float32 array itself (exact below 2**24 impressions of one session and
    category), so the product is numpy's ``float32(count) x exposure`` without an int64
    table beside it."""
    add = np.zeros(n * k, dtype=np.float32)
    one = np.float32(1)
    for i in range(len(session)):
        add[np.int64(session[i]) * k + categories[i]] += one
    for j in range(n * k):
        add[j] *= exposure
    for j in range(len(entered)):
        i = entered[j]
        add[np.int64(session[i]) * k + categories[i]] += entry_weight[j]
    return add


def _warmup_pick(rows, categories, ends, block, targets, start):
    """WarmupContent.step's inverse-CDF draw of the views of every category about to start:
    for the targets ``targets[start[j]:start[j + 1]]`` of category ``categories[j]`` (the
    scaled uniforms ``u x total``), ``np.searchsorted(cum, t, side="right")`` capped at
    n - 1 (the first session whose cumulative interest exceeds t), with ``cum`` the
    cumulative sum of :func:`_warmup_cum`, never stored whole: a binary search over the
    block ends ``ends`` (its (categories x blocks) output) finds t's block, whose sums are
    then recomputed from the previous block's end in the same order (the same float64
    values, as the sums are nondecreasing the first one above t is the same session)."""
    n = rows.shape[0]
    n_blocks = ends.shape[1]
    out = np.empty(len(targets), dtype=np.int64)
    for j in range(len(categories)):
        c = categories[j]
        for q in range(start[j], start[j + 1]):
            t = targets[q]
            lo, hi = 0, n_blocks
            while lo < hi:
                mid = (lo + hi) >> 1
                if ends[j, mid] > t:
                    hi = mid
                else:
                    lo = mid + 1
            if lo == n_blocks:  # t >= the total (u x total rounded up to it)
                out[q] = n - 1
                continue
            x = ends[j, lo - 1] if lo > 0 else 0.0
            i = lo * block
            while True:
                x += np.float64(rows[i, c])
                if x > t:
                    break
                i += 1
            out[q] = i
    return out


def _session_twins(drawn, order):
    """Population.draw_sessions's twin of every session under interest drift: with
    ``drawn`` the drawn viewers (a viewer's sessions adjacent) and ``order`` the
    permutation that orders them into the sessions (``viewers = drawn[order]``), the
    session index of the first of each session's viewer's sessions in ``drawn``, int64
    (n,): numpy's ``position[first[order]]`` (``position`` the inverse permutation,
    ``first`` each drawn index's run start) in three passes over small integer arrays."""
    n = len(drawn)
    position = np.empty(n, dtype=np.int64)
    for q in range(n):
        position[order[q]] = q
    first = np.empty(n, dtype=np.int64)
    for k in range(n):
        first[k] = k if k == 0 or drawn[k] != drawn[k - 1] else first[k - 1]
    twin = np.empty(n, dtype=np.int64)
    for q in range(n):
        twin[q] = position[first[order[q]]]
    return twin


def _decay_rows(x, b, rho, keep):
    """Population.decay_interests on one block in one pass: per row, the float32 baseline
    ``b`` (n x k) summed left to right (as ``row_sums``), ``f = rho / sum`` (numpy's
    float32 quotient, inf or nan for a zero sum), then ``x <- x keep + b f`` in float32
    (numpy's ``b *= f``, ``x *= keep``, ``x += b``: the two products, then their sum)."""
    n, k = b.shape
    for i in range(n):
        s = b[i, 0]
        for j in range(1, k):
            s += b[i, j]
        if s != 0:
            f = rho / s
        elif rho > 0:  # numpy's rho / 0 (numba would raise)
            f = np.float32(np.inf)
        elif rho < 0:
            f = np.float32(-np.inf)
        else:
            f = np.float32(np.nan)
        for j in range(k):
            x[i, j] = x[i, j] * keep + b[i, j] * f
