"""Seeds of a sweep, all spawned from the spec's root seed with ``numpy.random.SeedSequence``.

A run's seed depends only on (root seed, point, replicate) — never on the executor, the
number of workers or the order in which runs complete — so replicate k of point i is the
same run wherever and whenever it is computed.

Spawn keys (the second argument of ``SeedSequence``) keep the streams apart:

========================  =============================  ==================================
what                      spawn key                      note
========================  =============================  ==================================
design sampling           ``(0,)``                       random, LHS, Sobol scrambling,
                                                         Morris trajectories
bootstrap in the analysis ``(3,)``                       SALib's confidence intervals
run seed, CRN (default)   ``(1, k)``                     replicate k of every point shares
                                                         one seed
run seed, independent     ``(2, i, k)``                  every run has its own seed
========================  =============================  ==================================

With common random numbers (CRN) replicate k of every point uses the same seed, so points
differ only by their parameters, not by luck: differences between points, the cells of a
phase diagram and sensitivity indices are less noisy. Per-point means and intervals are
unaffected (each point's replicates are still independent of each other).
"""

import numpy as np

DESIGN_KEY = 0
CRN_KEY = 1
INDEPENDENT_KEY = 2
ANALYSIS_KEY = 3


def run_seed(root_seed: int, point: int, replicate: int, common_random_numbers: bool) -> int:
    """The seed of replicate ``replicate`` of design point ``point``.

    Returns
    -------
    int
        In [0, 2**63), so that it fits a signed 64-bit column and a scenario's ``seed``.
    """
    key = (CRN_KEY, replicate) if common_random_numbers else (INDEPENDENT_KEY, point, replicate)
    state = np.random.SeedSequence(root_seed, spawn_key=key).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def design_rng(root_seed: int) -> np.random.Generator:
    """The generator that samples a random, LHS, Sobol or Morris design."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(DESIGN_KEY,)))


def analysis_rng(root_seed: int) -> np.random.Generator:
    """The generator behind the bootstrap intervals of the sensitivity analysis."""
    return np.random.default_rng(np.random.SeedSequence(root_seed, spawn_key=(ANALYSIS_KEY,)))
