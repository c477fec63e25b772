"""The root of a lab conversation: every organisation's agent, then the public moderator."""

from __future__ import annotations

from functools import partial

from actors import Escalate

from ..engine._run import RunRoot
from ._agent import AgentActor, Role
from ._moderators import TopModerator


class CouncilsRoot(RunRoot):
    """A lab conversation's run: one agent per organisation (each with its council, if it has
    one) and the moderator of their public conversation."""

    async def on_start(self) -> None:
        ctx = self.ctx
        scenario = ctx.scenario
        names = [a.name for a in scenario.agents]
        speakers = tuple((a.name, a.kind) for a in scenario.agents)
        deliberators = []
        for spec in scenario.agents:
            role = Role(
                path=("top",),
                organisation=spec.name,
                organisation_description=spec.description,
                organisation_kind=spec.kind,
                speakers=speakers,
                council=None,
            )
            ref = await self.spawn(partial(AgentActor, ctx, spec, role), supervision=Escalate())
            ctx.agent_names[ref.name] = spec.name
            if spec.council is not None:
                deliberators.append((spec.name, ref))
        self.moderator = await self.spawn(
            partial(TopModerator, ctx, names, deliberators), supervision=Escalate()
        )
