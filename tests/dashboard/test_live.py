"""The live-counter hub: the change marker moves on any commit; one computation per (scope, region) fans out."""

from __future__ import annotations

import asyncio

from civicgrid.audit.service import Origin, record
from civicgrid.dashboard import live
from civicgrid.db import utcnow
from civicgrid.events.workflow import CaseState as S


def test_marker_moves_with_history_and_new_cases(session, world, make):
    hub = live.Hub()
    assert hub._poll() is True  # the first read is a change
    assert hub._poll() is False
    record(session=session, actor=None, origin=Origin("test"), entity="case", entity_id=1, action="comment")
    session.flush()
    assert hub._poll() is True
    make(state=S.REPORTED, received=utcnow())
    assert hub._poll() is True and hub._poll() is False


def test_fan_out_computes_once_per_scope_and_region(session, world, make):
    hub = live.Hub(autostart=False)
    district, street = world.regions["district"].id, world.regions["street1"].id

    async def run():
        leader = live.viewer_of(world.users["leader"])
        subs = [(await hub.subscribe(leader, district))[0] for _ in range(3)]
        street_sub, first = await hub.subscribe(live.viewer_of(world.users["street_leader"]), street)
        assert first["received"]["value"] == 0
        hub.recomputes = 0
        make(state=S.REPORTED, received=utcnow(), grid="grid211")  # street 2: the street leader's numbers stay
        pushed = await hub.fan_out()
        return subs, street_sub, pushed

    subs, street_sub, pushed = asyncio.run(run())
    assert hub.recomputes == 2  # three district dashboards share one computation
    assert pushed == 3
    assert all(s.queue.get_nowait()["received"]["value"] == 1 for s in subs)
    assert street_sub.queue.empty()
