"""The contract every distribution policy meets, run for every registered policy.

The class is parametrised over :data:`simulation.distribution.POLICIES`: a new policy gets the
contract by being registered. It checks the plug-in's surface (registered under its name, the
two flags viewer behaviour reads, the three methods of
:class:`~simulation.distribution.base.DistributionPolicy`) and, on a tiny model run for a
day, that every tick's impressions are shaped as behaviour and accounting expect: seven
aligned arrays of the right dtypes, each impression in one of the tick's sessions and shown to
that session's viewer, a valid stream, a known source, paid impressions and only they
carrying a campaign, and charges that are finite and not negative. docs/CONTRIBUTING.md says
how to add a policy.
"""

from __future__ import annotations

import numpy as np
import pytest

from simulation import api
from simulation.behaviour import FOLLOW, FREE, PAID, Impressions
from simulation.distribution import POLICIES, DistributionPolicy, policy_class

from conftest import small

DTYPES = {
    "viewer": np.int64,
    "stream": np.int64,
    "source": np.int8,
    "session": np.int64,
    "boost": np.float32,
    "campaign": np.int64,
    "charge": np.float64,
}


class PolicyContract:
    """What every distribution policy must do; subclasses choose the policies through the
    ``policy`` fixture (a registry name)."""

    def test_registered_under_its_name_with_its_flags(self, policy):
        cls = POLICIES[policy]
        assert cls.name == policy and policy_class(policy) is cls
        assert isinstance(cls.requires_need, bool)
        assert isinstance(cls.one_order_per_session, bool)
        for method in ("serve", "settle", "end_of_day"):
            assert callable(getattr(cls, method, None)), method
            assert method in DistributionPolicy.__dict__

    def test_every_tick_serves_well_formed_impressions(self, policy):
        model = api.build_model(small(policy=policy, days=1), seed=5)
        assert type(model.policy) is POLICIES[policy]
        seen: list[tuple[Impressions, np.ndarray, np.ndarray]] = []
        serve = model.policy.serve

        def recording(sessions, live):
            imp = serve(sessions, live)
            seen.append((imp, sessions.viewer.copy(), live.copy()))
            return imp

        model.policy.serve = recording
        for _ in range(model.tpd):
            model.step()
        assert len(seen) == model.tpd and sum(len(i) for i, _, _ in seen) > 0
        n_streams = model.table.n
        for imp, viewer, live in seen:
            assert isinstance(imp, Impressions)
            n = len(imp)
            for name, dtype in DTYPES.items():
                arr = getattr(imp, name)
                assert arr.shape == (n,) and arr.dtype == dtype, name
            assert ((imp.session >= 0) & (imp.session < len(viewer))).all()
            np.testing.assert_array_equal(imp.viewer, viewer[imp.session])
            assert ((imp.stream >= 0) & (imp.stream < n_streams)).all()
            assert np.isin(imp.source, (FREE, PAID, FOLLOW)).all()
            paid = imp.source == PAID
            assert (imp.campaign[paid] >= 0).all() and (imp.campaign[~paid] == -1).all()
            assert np.isfinite(imp.charge).all() and (imp.charge >= 0).all()
            assert np.isfinite(imp.boost).all()
            if not getattr(model.policy, "always_open", False):
                assert live[imp.stream].all(), "an impression of a stream off the air"


class TestEveryRegisteredPolicy(PolicyContract):
    """The contract for every entry of the registry."""

    @pytest.fixture(params=sorted(POLICIES))
    def policy(self, request) -> str:
        return request.param
