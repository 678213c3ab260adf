"""Where a sweep's runs execute: one path over a `concurrent.futures` executor, which is
a local process pool or a Dask cluster's (`distributed.Client(address).get_executor()`),
so what runs and what is written does not depend on which one ran it.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from .progress import RunProgress
from .store import RunStore
from .work import RunTask, mlsim_version, run_task

#: How long to wait for a Dask scheduler to answer before giving up.
DASK_CONNECT_SECONDS = 30


class SweepError(Exception):
    """A sweep that cannot go on (no scheduler, a run that raised, another mlsim on a worker)."""


@dataclass(frozen=True)
class Backend:
    """`dask`: a scheduler address (tcp://host:8786); otherwise a local pool of `workers`
    processes (None: one per CPU)."""

    workers: int | None = None
    dask: str | None = None

    @contextlib.contextmanager
    def executor(self) -> Iterator[Executor]:
        if self.dask is None:
            with ProcessPoolExecutor(max_workers=self.workers) as pool:
                yield pool
            return
        try:
            from distributed import Client  # the optional extra: pip install -e ".[dask]"
        except ImportError:
            raise SweepError('--dask needs dask[distributed]: pip install -e ".[dask]"') from None
        try:
            client = Client(self.dask, timeout=DASK_CONNECT_SECONDS)
        except OSError as exc:
            raise SweepError(f"cannot reach the Dask scheduler at {self.dask}: {exc}") from None
        try:
            with client.get_executor() as executor:
                yield executor
        finally:
            client.close()


class Engine:
    """Runs batches of tasks on one executor, opened at the first batch that has work and
    kept until the engine closes (`mlsim advise` runs a batch per round)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._stack = contextlib.ExitStack()
        self._executor: Executor | None = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def executor(self) -> Executor:
        if self._executor is None:
            self._executor = self._stack.enter_context(self.backend.executor())
        return self._executor

    def run(
        self, tasks: Sequence[RunTask], store: RunStore | None = None, progress: bool = True,
    ) -> tuple[list[dict[str, Any]], int]:
        """The summary of every task, in the tasks' order, and how many were found finished:
        a task whose finished run is in `store` is not run again, and every new run is saved
        there as it finishes."""
        mlsim = mlsim_version()
        summaries: list[dict[str, Any] | None] = [store.cached(t) if store else None for t in tasks]
        pending = [i for i, summary in enumerate(summaries) if summary is None]
        bar = RunProgress(len(tasks), len(tasks) - len(pending), enabled=progress)
        futures = {self.executor().submit(run_task, tasks[i]): i for i in pending} if pending else {}
        try:
            for future in as_completed(futures):
                task = tasks[futures[future]]
                try:
                    result = future.result()
                except Exception as exc:
                    raise SweepError(f"run {task.label} seed {task.seed} failed: {type(exc).__name__}: {exc}") from exc
                if result.mlsim != mlsim:
                    raise SweepError(f"a worker runs mlsim {result.mlsim}, this client {mlsim}: install the same "
                                     "version on every worker")
                if store is not None:
                    store.save(task, result)
                summaries[futures[future]] = result.summary
                bar.advance()
        finally:
            for future in futures:
                future.cancel()
            bar.close()
        return [s for s in summaries if s is not None], len(tasks) - len(pending)
