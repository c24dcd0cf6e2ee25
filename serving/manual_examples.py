"""Example bodies of the manual that only the served panel can give, to the key that reads it.

A joint operation names regions an agreement opens, periods to come and units of the
parties, and a webhook a host the service may post to: no fixed example is right for every
deployment, and none may tell a reader without a key (or a partner) what only the key's
country knows. So ``/docs.json`` read without a key has none of these examples, and read
with one (the manual's "Authorize" fetches it again with the key) it has those drawn by
:func:`manual_examples` from the panel being served, the service's settings and that key's
own view:

- a planner of a country: an operation with a partner of its first agreement that has units
  on both sides, in two of the regions that agreement opens, in the next period; a pledge of
  one of its own (agency's) units; a decline, a withdraw and a cancel, each with a reason;
- the operator (a planner or admin key of no country): the same operation between the two
  first such parties, and pledges and declines for a ``party`` it names;
- any key: a webhook on the first host the operator allows (else a public https address).

The tests send every one with the key it was drawn for, in the order of an operation's life.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from crossplan.optimize.resources import Agreement, Resources, Unit
from crossplan.pipelines.database.operation_rules import next_period
from crossplan.serving.auth import Permission, Principal

__all__ = ["Examples", "manual_examples", "operation_examples", "webhook_examples"]

#: ``(path, method)``: the examples of its JSON body, by name (OpenAPI's ``examples``).
Examples = dict[tuple[str, str], dict[str, dict[str, Any]]]

PUBLIC_WEBHOOK = "https://alerts.example.org/crossplan"
_SECRET = "a-long-random-secret-the-receiver-keeps"


def _example(summary: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "value": value}


def _staffed(units: Sequence[Unit], country: str) -> Unit | None:
    return next((u for u in units if u.country == country and u.shifts_per_period > 0), None)


def _parties(resources: Resources, who: Principal) -> tuple[Agreement, Unit, Unit] | None:
    """The first agreement of ``who``'s country (any, for the operator) two of whose
    countries have a unit with shifts, and those units: ``who``'s own first."""
    own = [u for u in resources.units if who.agency is None or u.agency == who.agency]
    for agreement in resources.agreements:
        for first in [who.country] if who.country else agreement.countries:
            others = [c for c in agreement.countries if c != first]
            mine = _staffed(own, first) if first in agreement.countries else None
            partner = next((u for c in others if (u := _staffed(resources.units, c))), None)
            if mine is not None and partner is not None:
                return agreement, mine, partner
    return None


def operation_examples(
    resources: Resources, frequency: str, now: datetime, who: Principal
) -> Examples:
    """Examples of proposing, pledging, declining, withdrawing and cancelling an operation
    on ``resources`` for a key ``who`` that may plan; none when none of its agreements has
    two parties with units."""
    found = _parties(resources, who) if who.may(Permission.PLAN) else None
    if found is None:
        return {}
    agreement, mine, partner = found
    a, b = mine.country, partner.country
    period = next_period(frequency, now).isoformat()
    proposal = {"regions": list(agreement.regions[:2]), "periods": [period],
                "needs": {a: {"shifts": 1}, b: {"shifts": 1}}}  # fmt: skip
    pledges = {"pledge": _example(f"Pledge one shift of your unit {mine.unit_id}",
                                  {"units": [{"unit_id": mine.unit_id, "shifts": 1}]})}  # fmt: skip
    declines = {"decline": _example("Decline for your country, saying why",
                                    {"reason": "No unit is free in those periods"})}  # fmt: skip
    if who.country is None:  # the operator acts for a party it names
        pledges = {
            f"pledge {unit.country}": _example(
                f"Pledge one shift of {unit.country}'s unit {unit.unit_id} for {unit.country}",
                {"units": [{"unit_id": unit.unit_id, "shifts": 1}], "party": unit.country},
            )
            for unit in (mine, partner)
        }
        declines = {f"decline {b}": _example(f"Decline for {b}, saying why",
                                             {"party": b, "reason": "Agreed by phone"})}  # fmt: skip
    operation = "/operations/{operation_id}"
    return {
        ("/operations", "post"): {
            "proposal": _example(
                f"{a} and {b} each need one shift a {frequency} period, in two regions their "
                f"agreement opens, from {period}",
                proposal,
            )
        },
        (f"{operation}/pledges", "post"): pledges,
        (f"{operation}/decline", "post"): declines,
        (f"{operation}/withdraw", "post"): {
            "withdraw": _example(
                "Take back an open operation your country proposed",
                {"reason": "The route moved north"},
            )
        },
        (f"{operation}/cancel", "post"): {
            "cancel": _example(
                "Call off an operation your country is party to, open or confirmed",
                {"reason": "Weather closes the crossing"},
            )
        },
    }


def webhook_examples(allow: Sequence[str]) -> Examples:
    """An example registration on the first host the operator allows, else a public one."""
    host = f"[{allow[0]}]" if allow and ":" in allow[0] else (allow[0] if allow else "")
    url = f"http://{host}/crossplan" if allow else PUBLIC_WEBHOOK
    where = "a host the operator allows" if allow else "a public https address"
    return {
        ("/webhooks", "post"): {
            "signed": _example(
                f"Post this agency's alerts to {where}, signed with a secret",
                {"url": url, "secret": _SECRET},
            ),
        }
    }


def manual_examples(
    resources: Resources | None, frequency: str, allow: Sequence[str], now: datetime, who: Principal
) -> Examples:
    """Every example :mod:`serving.openapi` adds for ``who`` from the served panel and
    settings."""
    operations = {} if resources is None else operation_examples(resources, frequency, now, who)
    return {**operations, **webhook_examples(allow)}
