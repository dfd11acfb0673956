"""The agent directory and adding an agent."""

from __future__ import annotations

from django.contrib import messages
from django.http import (
    HttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts import selectors
from accounts.choices import Presence
from accounts.forms import (
    AgentAddForm,
)
from accounts.services import lookups
from core.access import (
    can,
    require,
)
from core.ratelimit import vendor_calls_limited
from core.roles import Cap
from core.types import AuthedRequest


@require(Cap.VIEW_AGENTS)
@require_GET
def agents(request: AuthedRequest) -> HttpResponse:
    agent_filter = request.GET.get("agent", "").strip()
    directory = selectors.agent_directory()
    context = {
        "agent_filter": agent_filter,
        "all_agents": [a.agent_account for a in directory[:500]],
        "directory": directory,
        "add_form": AgentAddForm(),
        "can_add": can(request.user, Cap.MANAGE_ACCOUNTS),
    }
    return render(request, "accounts/agents.html", context)


@require(Cap.MANAGE_ACCOUNTS)
@require_POST
def agent_add(request: AuthedRequest) -> HttpResponse:
    """A supervisor adds an agent the vendor has not reported yet (same service as the API)."""
    from accounts.services.agents import AgentInvalid, agent_create

    form = AgentAddForm(request.POST)
    if form.is_valid():
        try:
            agent = agent_create(actor=request.user, **form.cleaned_data)
        except AgentInvalid as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("Agent %(account)s added.") % {"account": agent.agent_account}
            )
            return redirect("accounts:agents")
    directory = selectors.agent_directory()
    context = {
        "agent_filter": "",
        "all_agents": [a.agent_account for a in directory[:500]],
        "directory": directory,
        "add_form": form,
        "can_add": True,
    }
    return render(request, "accounts/agents.html", context, status=400)


@require(Cap.VIEW_AGENTS)
@require_GET
@vendor_calls_limited
def agents_vendor(request: AuthedRequest) -> HttpResponse:
    """Lazy fragment: online agents per source, and each agent's latest 10 online accounts."""
    overview = lookups.vendor_agents_overview(agent=request.GET.get("agent", "").strip())
    # The directory's online column is redrawn from this same answer (out of band), and the
    # "latest online accounts" keep only the accounts online now.
    online_agents = {a.agent_account for block in overview["all_blocks"] for a in block.agents}
    for block in overview["latest"]:
        block["agents"] = [
            (a, [w for w in ws if w.status == Presence.ONLINE][:10]) for a, ws in block["agents"]
        ]
    return render(
        request,
        "accounts/agents.html#vendor",
        {
            **overview,
            "fetched_at": timezone.now(),
            "directory": selectors.agent_directory(),
            "online_agents": online_agents,
        },
    )


# --- status logs ------------------------------------------------------------------------
