"""Post/redirect/get for the customer's forms: what a form post leaves for the page that
shows its outcome.

Every form post answers with a 303 to a GET page, so that Refresh and Back never send a
card again. What that page needs (the values typed, the errors found, the notice and the
answer's status) is kept server-side with the checkout, not in a cookie: inside a
third-party iframe the browser may refuse our cookies. A card number, a CVV and the CSRF
token are never kept."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from flask import request
from werkzeug.datastructures import MultiDict
from wtforms import Field, Form, FormField

#: Form fields never kept: the card's number and security codes, and the CSRF token.
NEVER_KEPT = frozenset({"number", "cvv", "saved_cvv", "csrf_token"})
#: How long a form's outcome is shown again (a customer who comes back later starts clean).
DRAFT_SECONDS = 30 * 60


def _fields(form: Form) -> Iterator[Field]:
    for field in form:
        if isinstance(field, FormField):
            yield from field
        else:
            yield field


def of_form(name: str, form: Form | None = None, *, status: int = 200, notice: str | None = None) -> dict[str, Any]:
    """The draft of the form just posted: its values (as posted, without what is never
    kept), the first error of each field in error, and the outcome to show."""
    values = {k: v for k, v in request.form.to_dict(flat=False).items() if k not in NEVER_KEPT}
    errors = {f.id: str(f.errors[0]) for f in _fields(form) if f.errors} if form is not None else {}
    return {"form": name, "values": values, "errors": errors, "notice": None if notice is None else str(notice),
            "status": status, "at": time.time()}


def outcome(draft: dict[str, Any] | None, *, status: int, notice: str | None = None,
            name: str = "card") -> dict[str, Any]:
    """``draft`` (or an empty one of form ``name``) with a new outcome: the answer that
    came after the form was sent (the bank's, for a card that needed 3-D Secure)."""
    kept = draft or {"form": name, "values": {}, "errors": {}}
    return {**kept, "status": status, "notice": None if notice is None else str(notice), "at": time.time()}


def fresh(draft: dict[str, Any] | None, name: str | None = None, now: float | None = None,
          since: float | None = None) -> dict[str, Any] | None:
    """A kept draft (a checkout's or payout's ``form_draft``) while it is recent (and,
    with ``name``, of that form). ``since``: when the checkout last moved; a draft from
    before that keeps its values but not its outcome (the decline of a payment that came
    back from the bank is told by the checkout's state, not by the form's old errors)."""
    now = time.time() if now is None else now
    if not draft or now - float(draft.get("at", 0)) > DRAFT_SECONDS:
        return None
    if name is not None and draft.get("form") != name:
        return None
    if since is not None and float(draft.get("at", 0)) < since:
        return {**draft, "errors": {}, "notice": None, "status": 200}
    return draft


def status(draft: dict[str, Any] | None, default: int = 200) -> int:
    """The status of the answer the draft's post had (that its GET page answers with)."""
    return int(draft.get("status") or default) if draft else default


def formdata(draft: dict[str, Any]) -> MultiDict:
    """The draft's values as form data, for a form built again on the GET page."""
    return MultiDict([(k, v) for k, values in draft.get("values", {}).items() for v in values])


def restore(form: Form, draft: dict[str, Any]) -> Form:
    """Put the draft's errors back on ``form`` (built from :func:`formdata`)."""
    errors = draft.get("errors") or {}
    for field in _fields(form):
        if field.id in errors:
            field.errors = [errors[field.id]]
    return form
