"""For a feature's migration: apply the default policy rules the feature declares.

The rules a feature declares (next to its ports) are the one source of the default policy; the
migration that brings the feature in applies them through here, and downgrading takes them out.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

from app.application.interfaces.access import PolicyRule

_casbin_rule = sa.table(
    "casbin_rule", *(sa.column(name) for name in ("ptype", "v0", "v1", "v2", "v3"))
)


def change_default_rules(rules: Iterable[PolicyRule], *, add: bool) -> None:
    """Insert (or delete) the rules, then bump the policy version so that every running process
    reloads the policy."""
    for rule in rules:
        values = {
            "ptype": "p",
            "v0": rule.role,
            "v1": rule.object_type,
            "v2": rule.action,
            "v3": rule.scope,
        }
        if add:
            op.execute(_casbin_rule.insert().values(values))
        else:
            op.execute(
                _casbin_rule.delete().where(
                    *(_casbin_rule.c[name] == value for name, value in values.items())
                )
            )
    op.execute("UPDATE access_policy_version SET version = version + 1 WHERE id = 1")
