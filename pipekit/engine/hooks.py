"""A run's hooks: SQL on the destination after the commit, chosen by ``run_on``.

``HookSteps`` is mixed into the run (``engine/execute.py``), whose state and
logging it uses. A failing hook never undoes the merge: the first failure
becomes the run's error, and from then on only ``failure``/``always`` hooks run.
A hook may hold several statements (``REFRESH MATERIALIZED VIEW v; ANALYZE t``):
they run in order, split by the destination's dialect, and the first failing
one fails the hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipekit.drivers.base import Driver
    from pipekit.engine.run import Engine
    from pipekit.store.modules import Module


class HookSteps:
    """The hooks half of a run; the run supplies the attributes declared here."""

    engine: Engine
    module: Module
    drivers: list[Driver]
    hook_sql: list[str]
    committed: bool
    phase: str

    if TYPE_CHECKING:

        def log(self, message: str, *, phase: str | None = None) -> None: ...

    def _hooks(self, status: str) -> str | None:
        """Run hooks after commit by run_on; returns the first failure, if any."""
        from pipekit.engine.execute import describe

        hooks = self.engine.store.hooks.list(self.module.name)
        if not hooks:
            return None
        dest = next((d for d in self.drivers if d is getattr(self, "dest", None)), None)
        first_error: str | None = None
        outcome = "success" if status == "success" else "failure"
        for position, hook in enumerate(hooks, 1):
            if hook.run_on not in (outcome, "always"):
                continue
            label = f"hook {position} ({hook.run_on})"
            self.phase = "hooks"
            if dest is None:
                self.hook_sql.append(f"-- {label}: not run, no destination\n{hook.sql}")
                continue
            try:
                # one statement at a time: drivers that prepare statements (ADBC on
                # PostgreSQL, SQLite) refuse several in one call
                for statement in dest.dialect.split_script(hook.sql):
                    dest.execute(statement)
            except Exception as exc:
                reason = describe(exc)
                self.hook_sql.append(f"-- {label}: FAILED\n{hook.sql}")
                self.log(f"{label} failed: {reason}")
                if first_error is None:
                    kept = "; the merged data stays committed" if self.committed else ""
                    first_error = f"{label} failed: {reason}{kept}"
                    outcome = "failure"  # from here only failure/always hooks run
                continue
            self.hook_sql.append(f"-- {label}: ok\n{hook.sql}")
            self.log(f"{label} ok")
        return first_error
