"""The function registry and its system checks: every public function has a permission,
every API operation and live table names a registered public function, internal ones are
unreachable, and nothing reaches a body without the door."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from ninja import Router

from config.api import api
from kernel import checks
from kernel.api import operations, route
from kernel.door import call
from kernel.errors import AppError, ErrorCode
from kernel.functions import FUNCTIONS, Function, Kind, mutation, query
from kernel.inputs import NoInput
from kernel.permissions import CATALOGUE, Role
from tests.conftest import actor_for


def _function(**options) -> Function:
    options.setdefault("unaudited", "a test function")
    return Function("test.loose", Kind.MUTATION, lambda *, actor: None, NoInput, None, **options)


def test_the_project_passes_the_registry_checks():
    assert checks.check_registry() == []


def test_a_public_function_without_a_permission_fails_the_check():
    (error,) = checks.function_errors([_function()])
    assert error.id == "kernel.E010"
    assert checks.function_errors([_function(personal=True), _function(internal=True)]) == []


def test_unknown_permissions_and_sensitive_actions_fail_the_check():
    found = checks.function_errors(
        [_function(permission="notes.teleport"), _function(permission="notes.write", step_up="x")]
    )
    assert [error.id for error in found] == ["kernel.E011", "kernel.E012"]


def test_a_live_function_must_be_a_query():
    loose = Function("test.live", Kind.MUTATION, lambda *, actor: None, NoInput, None,
                     permission="notes.write", live=True, unaudited="a test")  # fmt: skip
    assert [error.id for error in checks.function_errors([loose])] == ["kernel.E013"]


def test_an_api_operation_not_built_from_a_registered_function_fails_the_check():
    router = Router()

    @router.get("/sneaky")
    def sneaky(request):  # a hand-written endpoint: no door, no registry
        return {}

    (error,) = checks.router_errors("somewhere.api", router)
    assert error.id == "kernel.E020"


def test_a_page_subscribing_to_an_unknown_live_query_fails_the_check(tmp_path):
    (tmp_path / "page.html").write_text(
        '<table data-live-query="notes.list"></table><table data-live-query="notes.nope">'
        '</table><table data-live-query="notes.count_everywhere"></table>'
    )
    found = checks.live_template_errors([tmp_path])
    assert [error.id for error in found] == ["kernel.E021", "kernel.E021"]


def test_internal_functions_have_no_api_operation_and_cannot_be_routed():
    internal = [f for f in FUNCTIONS.values() if f.internal]
    assert {"notes.reset", "billing.apply_event", "memberships.save_by_operator"} <= {
        f.name for f in internal
    }
    routed = {getattr(view, "kernel_function", None) for _, _, view in operations(api)}
    assert not routed & set(internal)
    assert None not in routed  # every operation was built by route()
    with pytest.raises(ValueError, match="internal"):
        route(Router(), "POST /x", FUNCTIONS["notes.reset"])


def test_the_registry_is_frozen_once_the_apps_are_ready():
    with pytest.raises(ImproperlyConfigured, match="frozen"):

        @query("notes.late", permission="notes.read")
        def late(*, actor) -> None: ...

    with pytest.raises(ImproperlyConfigured, match="frozen"):

        @mutation("notes.later", permission="notes.write")
        def later(*, actor) -> None: ...


def test_a_registered_function_cannot_be_called_around_the_door(org, member):
    with pytest.raises(TypeError, match="through the door"):
        FUNCTIONS["notes.create"](actor=actor_for(member(Role.OWNER)), title="x")


def _outsider(function: Function) -> Role | None:
    """The highest role that does not hold the function's permission, if any does not."""
    roles = CATALOGUE[function.permission].roles if function.permission else set(Role)
    return next((role for role in Role if role not in roles), None)


RESTRICTED = sorted(
    name for name, f in FUNCTIONS.items() if f.public and f.permission and _outsider(f)
)


@pytest.mark.parametrize("name", RESTRICTED)
def test_every_public_function_refuses_a_role_without_its_permission(name, org, member):
    """Through the door, with no input at all: the permission is checked first, so a
    role without it learns nothing about the input either."""
    outsider = _outsider(FUNCTIONS[name])
    assert outsider is not None
    with pytest.raises(AppError) as raised:
        call(FUNCTIONS[name], actor_for(member(outsider)), {})
    assert raised.value.code == ErrorCode.FORBIDDEN
