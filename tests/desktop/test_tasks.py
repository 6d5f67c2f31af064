"""Background tasks: results come back on the UI thread, thousands of times over."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Run in a child process: a binding that mishandles reference counts (PySide6 6.12.0 on
# Python 3.11 freed True and None after a few hundred signals) kills the whole process.
MANY_TASKS = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication
    from desktop_app.ui.tasks import TaskRunner

    app = QCoreApplication([])
    runner = TaskRunner()
    results, errors = [], []
    for n in range(3000):
        runner.run(lambda n=n: n % 2 == 0, results.append, errors.append)
    runner.run(lambda: 1 / 0, results.append, errors.append)
    while len(results) + len(errors) < 3001:
        app.processEvents()
    print(len(results), results.count(True), type(errors[0]).__name__)
    """
)


def test_thousands_of_tasks_deliver_their_results_and_errors():
    child = subprocess.run(
        [sys.executable, "-c", MANY_TASKS], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert child.stdout.split() == ["3000", "1500", "ZeroDivisionError"]
