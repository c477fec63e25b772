"""One role-play run: the task is specified (and planned), then the AI user, the AI
assistant, the critic and the moderator are spawned under the run's root and the chat
begins."""

from __future__ import annotations

from functools import partial
from typing import Literal

from actors import ActorRef, Escalate

from ..engine._context import RunContext
from ..engine._protocol import Begin
from ..engine._run import RunRoot
from ..log._events import TaskSpecified
from ..models._model import Model
from ..models._open import open_model
from . import _prompts
from ._agents import Acknowledge, OneShot, RolePlayAgent, TaskAgent
from ._critic import CriticActor, HumanCritic
from ._moderator import RolePlayModerator


class RolePlayRoot(RunRoot):
    """The root of a role-play run; a failure anywhere below it ends the run ``failed``."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx)
        self.opened: list[Model] = []  # models this run opened for its critic

    async def on_start(self) -> None:
        pass  # the agents' prompts depend on the specified task: spawned on ``Begin``

    async def receive(self, message: object) -> None:
        if isinstance(message, Begin):
            await self._begin()

    async def _begin(self) -> None:
        ctx = self.ctx
        play = ctx.scenario.roleplay
        assert play is not None
        specified, plan = play.task, None
        if play.specifier.enabled:
            specified = await self._one_shot(
                "task specifier", "specify", _prompts.SPECIFIER_SYSTEM, _prompts.specifier_prompt(play),
                play.specifier.temperature,
            ) or play.task
        if play.planner.enabled:
            temperature = play.planner.temperature
            plan = await self._one_shot(
                "task planner", "plan", _prompts.PLANNER_SYSTEM, _prompts.planner_prompt(play, specified),
                ctx.scenario.model.temperature if temperature is None else temperature,
            )
        await ctx.emit(
            TaskSpecified(
                run=ctx.run, assistant_role=play.assistant_role, user_role=play.user_role, original=play.task,
                specified=specified, planned=plan,
            )
        )
        task = _prompts.with_plan(specified, plan)
        critic: ActorRef | None = None
        if play.critic.kind != "none":
            model: Model | HumanCritic | None = None
            if play.critic.kind == "human":
                model = HumanCritic()
            elif play.critic.model is not None:
                model = self._critic_model(play.critic.model)
            critic = await self.spawn(partial(CriticActor, ctx, task, model), supervision=Escalate())
        agents = {}
        for side in ("assistant", "user"):
            ref = await self.spawn(partial(RolePlayAgent, ctx, side, task, critic), supervision=Escalate())
            ctx.agent_names[ref.name] = side
            agents[side] = ref
        self.moderator = await self.spawn(partial(RolePlayModerator, ctx), supervision=Escalate())
        if play.kickoff == "echo":
            await agents["assistant"].ask(Acknowledge(), timeout=None)
        await self.moderator.tell(Begin())

    async def _one_shot(self, name: str, kind: Literal["specify", "plan"], system: str, user: str, temperature: float) -> str:
        agent = await self.spawn(
            partial(TaskAgent, self.ctx, name, kind, system, temperature), supervision=Escalate()
        )
        text: str = await agent.ask(OneShot(user), timeout=None)
        await agent.stop()
        return text

    def _critic_model(self, spec: str) -> Model:
        model = open_model(spec, seed=self.ctx.seed, base_url=self.ctx.scenario.model.base_url)
        self.opened.append(model)
        return model

    async def on_stop(self) -> None:
        for model in self.opened:
            close = getattr(model, "aclose", None)
            if close is not None:
                await close()
