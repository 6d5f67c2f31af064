"""Errors waitress answers itself, before the app runs (a malformed request line, an
invalid Content-Length, headers past their limit), as problem+json like every other
error of the API instead of waitress's plain text."""

from __future__ import annotations

from flask import json
from waitress.task import ErrorTask

from backend.problems import PROBLEM_JSON, problem_document, status_problem


class ProblemErrorTask(ErrorTask):
    def execute(self) -> None:
        error = self.request.error
        problem = status_problem(error.code, error.reason, str(error.body))
        if problem.detail != error.body:
            problem.detail = f"{problem.detail} ({error.body})"
        body = json.dumps(problem_document(problem)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", PROBLEM_JSON))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)
