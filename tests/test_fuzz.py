"""Fuzzing the API from its own description: schemathesis reads /api/v1/openapi.json and sends
every operation valid and invalid data (settings: schemathesis.toml). Any 5xx, or an answer that
breaks the description, fails — with the request that did it."""

from __future__ import annotations

import traceback
import warnings

import schemathesis
from hypothesis.errors import HypothesisWarning
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished

from gis.cases.intake import submit_report
from tests.factories import CELL, ORIGIN


def _failures(event: ScenarioFinished) -> list[str]:
    out = []
    for case_id, checks in event.recorder.checks.items():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                case = event.recorder.cases[case_id].value
                out.append(
                    f"{check.name}: {case.method} {case.formatted_path} "
                    f"{case.query or ''} {str(case.body)[:200] if case.body is not None else ''}"
                    f" → {check.failure_info.failure.title}"
                )
    return out


def _exceptions(exc: BaseException) -> list[str]:
    """What went wrong inside the app (an exception escaping a view is a 500), one line each."""
    if isinstance(exc, BaseExceptionGroup):
        return [line for inner in exc.exceptions for line in _exceptions(inner)]
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "/app/" in f.filename or "/gis/" in f.filename]
    where = f" at {ours[-1].filename.split('/')[-2]}/{ours[-1].name}:{ours[-1].lineno}" if ours else ""
    return [f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}{where}"]


def test_no_operation_answers_5xx_or_breaks_its_description(app, town, make_user, session):
    admin = make_user("admin")
    for n in range(3):
        submit_report(
            session,
            lon=ORIGIN[0] + (n + 0.5) * CELL / 2,
            lat=ORIGIN[1] + CELL / 2,
            category="0101",
            description=f"井盖 {n}",
        )
    # the live feed is a stream without end (tests/test_live.py reads it event by event)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).exclude(path="/api/v1/live")
    # the WSGI transport reads a body as the app sent it, never decoded: ask for it uncompressed
    # (compression has its own test in test_field_kit.py)
    schema.config.headers = {"Authorization": f"Bearer {admin.token}", "Accept-Encoding": "identity"}
    failures, errors, operations, calls, answers = [], [], set(), {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HypothesisWarning)  # hypothesis on schemathesis' own inputs
        for event in from_schema(schema).execute():
            if isinstance(event, ScenarioFinished):
                operations.add(event.label)
                calls[event.label] = calls.get(event.label, 0) + len(event.recorder.interactions)
                for interaction in event.recorder.interactions.values():
                    if interaction.response is not None:
                        kind = f"{interaction.response.status_code // 100}xx"
                        answers[kind] = answers.get(kind, 0) + 1
                failures += _failures(event)
            elif isinstance(event, NonFatalError):
                errors += [f"{event.label}: {line}" for line in _exceptions(event.value)]
            elif isinstance(event, FatalError):
                errors += _exceptions(event.exception)
    report = "\n".join(sorted(set(failures))[:60] + errors[:10])
    requests = sum(calls.values())
    print(f"\nfuzz: {requests} requests over {len(operations)} operations, answers {sorted(answers.items())}")
    assert len(operations) >= 25, operations
    assert not failures and not errors, report
