"""The configured agents (``[[agents]]``; without any, one agent ``main`` on ``echo``)."""

from __future__ import annotations

from fastapi import Depends, Request

from ..auth import current_user
from ..schemas import AgentList, AgentModel
from . import api_router

router = api_router("/api/agents", "agents")


@router.get("", response_model=AgentList)
async def list_agents(request: Request, _user: str = Depends(current_user)) -> AgentList:
    settings = request.app.state.settings
    return AgentList(
        agents=[
            AgentModel(id=a.id, provider=a.provider, model=a.model, description=a.description)
            for a in settings.agents
        ]
    )
