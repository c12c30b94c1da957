"""The executable parts: one asset per module and one job per group, both carried out
by Pipekit's engine through the run service.

An asset's step runs its module once (``triggered_by`` = ``dagster:<run id>``; a
Dagster run terminated meanwhile cancels it: ``interrupt.py``) and
yields a ``MaterializeResult`` with the run's row counts, run id and watermarks, and
an ``AssetCheckResult`` per Pipekit check. A busy module, a failed run or a failed
check fails the step with Pipekit's message; a failed check fails its asset check
too, and the destination is unchanged (the engine rolled the merge back). A run whose
merge committed before a hook failed is a materialization and a failed step.

A group's job is one step that runs the group as Pipekit does (``run_group``: the
enabled members in group order, one group run recorded, a failed member does not
stop the ones after it) and reports each member as its asset's materialization and
check evaluations, then fails if any member failed.
"""

# No `from __future__ import annotations`: Dagster reads the decorated functions'
# parameter annotations (config, resources) at definition time, as objects.

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    AssetSpec,
    Config,
    Failure,
    JobDefinition,
    MaterializeResult,
    OpExecutionContext,
    job,
    multi_asset,
    op,
)
from pydantic import Field

from pipekit.errors import PipekitError
from pipekit.integrations.dagster.catalog import PipekitGroup, PipekitModule
from pipekit.integrations.dagster.interrupt import run_cancellable
from pipekit.integrations.dagster.outcome import landed, outcome, run_metadata
from pipekit.integrations.dagster.resource import PipekitResource, dagster_actor
from pipekit.integrations.dagster.translator import dagster_name
from pipekit.services.runs import RunView
from pipekit.status import RunStatus


class PipekitRunConfig(Config):
    """Run config of a module's asset (the launchpad's ``ops.<op>.config``)."""

    full_refresh: bool = Field(
        default=False, description="Reload the whole table, as `pipekit run --full-refresh`."
    )


def module_op_name(module: str) -> str:
    return f"pipekit_{dagster_name(module)}"


def group_job_name(group: str) -> str:
    return f"pipekit_group_{dagster_name(group)}"


def _checked(run: RunView, checks: Sequence[tuple[str, str]]) -> list[tuple[str, bool]]:
    """(Dagster check name, passed) of each check the run evaluated."""
    names = dict(checks)
    return [(names[c.check], c.passed) for c in outcome(run, list(names)).checks]


def check_events(
    run: RunView, key: AssetKey, checks: Sequence[tuple[str, str]]
) -> list[AssetCheckResult]:
    """The run's check results; `checks` pairs each Pipekit check with its Dagster name."""
    return [
        AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=passed,
            metadata={"pipekit/run_id": run.id},
            description=None if passed else run.error,
        )
        for name, passed in _checked(run, checks)
    ]


def check_evaluations(
    run: RunView, key: AssetKey, checks: Sequence[tuple[str, str]]
) -> list[AssetCheckEvaluation]:
    """The run's check results as events outside an asset's step (a group's job, the
    sensor); `checks` pairs each Pipekit check with its Dagster name."""
    return [
        AssetCheckEvaluation(
            asset_key=key,
            check_name=name,
            passed=passed,
            metadata={"pipekit/run_id": run.id},
            description=None if passed else run.error,
            blocking=True,
        )
        for name, passed in _checked(run, checks)
    ]


def unevaluated(
    run: RunView,
    key: AssetKey,
    checks: Sequence[tuple[str, str]],
    results: Sequence[AssetCheckResult],
) -> list[AssetCheckResult]:
    """A warning result for each check the definitions know and the run did not evaluate:
    removed from Pipekit since the code location loaded (Dagster wants a result for each)."""
    done = {r.check_name for r in results}
    return [
        AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=False,
            severity=AssetCheckSeverity.WARN,
            metadata={"pipekit/run_id": run.id},
            description=f"Pipekit did not run check {check} (run {run.id}): it is no longer "
            "defined; reload the Dagster code location",
        )
        for check, name in checks
        if name not in done
    ]


def module_asset(
    module: PipekitModule, spec: AssetSpec, check_specs: Sequence[AssetCheckSpec]
) -> AssetsDefinition:
    """The asset of `module`; `check_specs` are its checks' specs, in its checks' order."""
    checks = [(c, s.name) for c, s in zip(module.checks, check_specs, strict=True)]

    @multi_asset(
        name=module_op_name(module.name),
        specs=[spec],
        check_specs=list(check_specs),
        description=spec.description,
    )
    def _asset(
        context: AssetExecutionContext, config: PipekitRunConfig, pipekit: PipekitResource
    ) -> Iterator[Any]:
        with pipekit.services(dagster_actor(context.run.run_id)) as sv:
            try:
                run = run_cancellable(
                    lambda cancel: sv.runs.run(
                        module.name, full_refresh=config.full_refresh, cancel=cancel
                    )
                )
            except PipekitError as exc:  # busy (another run holds the lock), gone
                raise Failure(description=str(exc)) from None
        result = outcome(run, module.checks)
        context.log.info(f"Pipekit run {run.id} of module {module.name}: {run.status}")
        results = check_events(run, spec.key, checks)
        if result.failure is not None:
            if result.landed:  # committed, then a hook failed: the data is there
                yield MaterializeResult(
                    asset_key=spec.key, metadata=result.metadata, check_results=results
                )
            else:
                yield from results
            raise Failure(description=result.failure, metadata=result.metadata)
        yield MaterializeResult(
            asset_key=spec.key,
            metadata=result.metadata,
            check_results=results + unevaluated(run, spec.key, checks, results),
        )

    return _asset


def group_job(
    group: PipekitGroup,
    keys: Mapping[str, AssetKey],
    checks: Mapping[str, Sequence[tuple[str, str]]],
) -> JobDefinition:
    """The job of `group`: `keys` maps module names to asset keys, `checks` each module's
    (Pipekit check, Dagster check name) pairs."""

    @op(
        name=f"run_{group_job_name(group.name)}",
        description=f"Runs Pipekit group {group.name}: {', '.join(group.modules) or 'no modules'}",
    )
    def _run_group(context: OpExecutionContext, pipekit: PipekitResource) -> Iterator[Any]:
        # A generator, so the events reach Dagster before the step fails at the end.
        with pipekit.services(dagster_actor(context.run.run_id)) as sv:
            try:
                done = run_cancellable(lambda cancel: sv.runs.run_group(group.name, cancel=cancel))
            except PipekitError as exc:
                raise Failure(description=str(exc)) from None
        gr = done.group_run
        for run in gr.runs:
            context.log.info(f"Pipekit run {run.id} of module {run.module_name}: {run.status}")
            key = keys.get(run.module_name)
            if key is None:  # a member added after the definitions were loaded
                continue
            member_checks = checks.get(run.module_name, ())
            yield from check_evaluations(run, key, member_checks)
            if landed(run):
                yield AssetMaterialization(asset_key=key, metadata=run_metadata(run))
        if gr.status != RunStatus.SUCCESS:
            raise Failure(
                description=f"Pipekit group run {gr.id} of group {group.name} ended "
                f"{gr.status}: {gr.error or 'see the run log'}",
                metadata={"pipekit/group_run_id": gr.id},
            )

    @job(
        name=group_job_name(group.name),
        description=group.description or f"Pipekit group {group.name}, in group order",
        tags={"pipekit/group": group.name},
    )
    def _job() -> None:
        _run_group()

    return _job
