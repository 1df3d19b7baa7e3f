"""The contract every distribution policy meets, run for every registered policy.

The class is parametrised over :data:`simulation.distribution.POLICIES`: a new policy gets the
contract by being registered. It checks the plug-in's surface (registered under its name, the
two flags viewer behaviour reads — class bools, or with ``per_impression_flags`` a bool per
impression of each tick — and the three methods of
:class:`~simulation.distribution.base.DistributionPolicy`) and, on a tiny model run for a
day, that every tick's impressions are shaped as behaviour and accounting expect: seven
aligned arrays of the right dtypes, each impression in one of the tick's sessions and shown to
that session's viewer, a valid stream (on the air, unless the policy's shops are always open
or the impression came through the mixed platform's search entrance), a known source, paid
impressions and only they carrying a campaign, and charges that are finite and not negative.
docs/CONTRIBUTING.md says how to add a policy.
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
        if not getattr(cls, "per_impression_flags", False):
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
            seen.append((imp, sessions.viewer.copy(), live.copy(), off_air_allowed(imp)))
            return imp

        def off_air_allowed(imp):
            """Impressions that may show a stream off the air: every one of an always-open
            policy's; the search entrance's (shops open all day) under the mixed platform."""
            if getattr(model.policy, "always_open", False):
                return np.ones(len(imp), dtype=bool)
            return np.arange(len(imp)) >= getattr(model.policy, "search_start", len(imp))

        behaviour_flags = []
        respond = model.behaviour.respond

        def recording_respond(imp, sessions, pop, day, intent, need, one, rng):
            behaviour_flags.append((len(imp), need, one))
            return respond(imp, sessions, pop, day, intent, need, one, rng)

        model.behaviour.respond = recording_respond
        model.policy.serve = recording
        for _ in range(model.tpd):
            model.step()
        assert len(seen) == model.tpd and sum(len(i) for i, *_ in seen) > 0
        # Behaviour reads the class's two flags, or (per_impression_flags) bools or one bool
        # per impression of the tick.
        cls = POLICIES[policy]
        per_impression = getattr(cls, "per_impression_flags", False)
        flags = None if per_impression else (cls.requires_need, cls.one_order_per_session)
        assert len(behaviour_flags) == model.tpd
        for n, need, one in behaviour_flags:
            if not per_impression:
                assert (need, one) == flags
                continue
            for flag in (need, one):
                assert isinstance(flag, bool) or (flag.dtype == bool and flag.shape == (n,))
        n_streams = model.table.n
        for imp, viewer, live, off_air in seen:
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
            assert (live[imp.stream] | off_air).all(), "an impression of a stream off the air"


class TestEveryRegisteredPolicy(PolicyContract):
    """The contract for every entry of the registry."""

    @pytest.fixture(params=sorted(POLICIES))
    def policy(self, request) -> str:
        return request.param
