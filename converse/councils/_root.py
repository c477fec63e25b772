"""The root of a lab conversation: every organisation's agent, then the public moderator."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from actors import Actor, ActorRef, Escalate

from ..engine._run import RunRoot
from ..scenario._scenario import Agent
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
        self.agents: dict[str, ActorRef] = {}
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
            ref = await self.spawn(self._agent(spec, role), supervision=Escalate())
            ctx.agent_names[ref.name] = spec.name
            self.agents[spec.name] = ref
            if spec.council is not None:
                deliberators.append((spec.name, ref))
        self.moderator = await self.spawn(self._moderator(names, deliberators), supervision=Escalate())

    def _agent(self, spec: Agent, role: Role) -> Callable[[], Actor]:
        """What makes the actor of the organisation ``spec``."""
        return partial(AgentActor, self.ctx, spec, role)

    def _moderator(self, names: list[str], deliberators: list[tuple[str, ActorRef]]) -> Callable[[], Actor]:
        """What makes the public conversation's moderator, once every organisation's actor runs."""
        return partial(TopModerator, self.ctx, names, deliberators)
