"""Role checks for views; ownership checks live in each domain's query helpers."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from .models import Role

# The roles that dispatch work and watch teams.
DISPATCHERS = (Role.SUPERVISOR, Role.ADMIN)


def role_required(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Sign-in required (else redirect), and one of `roles` (else 403)."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
