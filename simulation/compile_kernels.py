"""Compile the numba kernels (or load them from numba's cache) before the first large run.

``python -m simulation.compile_kernels`` runs :func:`compile_all`, which the Makefile's
installs of numba run once. It lives apart from :mod:`simulation.kernels` because it runs the
model: the kernels sit below the model in the import graph and must not import it.
"""

from simulation import kernels


def compile_all() -> list[str]:
    """Compile every kernel, or load it from numba's cache, by running one small day of the
    default market (version 2: the audience baseline, interest drift and the run-of-show on)
    under each distribution policy with the kernels forced; returns the names of the kernels
    ready. The cache lives in the user's cache folder
    (:func:`simulation.kernels.cache_folder`), so the first large run after an install does not
    compile (at 1M viewers a cold cache adds ≈ 4.5 s).
    ``make test`` and ``make bench`` run it once after installing numba (:func:`main`)."""
    from simulation.api import run
    from simulation.distribution import POLICIES

    saved, kernels.FORCE = kernels.FORCE, True
    try:
        for policy in sorted(POLICIES):
            run("default", days=1, overrides={"population.viewers": 2000, "policy": policy})
    finally:
        kernels.FORCE = saved
    return sorted(kernels._jit)


def main() -> None:
    """``python -m simulation.compile_kernels``: :func:`compile_all`, with a line saying what
    it did."""
    import time

    if not kernels.available():
        print("numba is not installed: no kernels to compile (the model runs on numpy)")
        return
    start = time.perf_counter()
    names = compile_all()
    print(f"compiled kernels ready ({time.perf_counter() - start:.1f} s): {', '.join(names)}")


if __name__ == "__main__":
    main()
