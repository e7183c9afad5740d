"""Trainer callbacks: metrics.jsonl, a rich progress line, and saving a checkpoint on Ctrl-C / SIGTERM."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import time
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from ru_llm.train.data.collate import TokenCounter


class MetricsLog(TrainerCallback):
    """Every logged step as one JSON line (main process only); a resumed run drops the lines it redoes."""

    def __init__(self, path: Path, *, resume_step: int = 0) -> None:
        from ru_llm.core.jsonl import atomic_open
        from ru_llm.train.outputs import read_metrics

        self.path = path
        if resume_step and path.is_file():
            # the steps up to the checkpoint stay; later ones (and a line a kill cut short) are redone
            kept = [r for r in read_metrics(path) if r.get("step", 0) <= resume_step]
            with atomic_open(path) as fh:
                fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
        elif path.exists():
            path.unlink()

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": round(state.epoch or 0.0, 4), **logs}
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


class GracefulStop(TrainerCallback):
    """Ctrl-C or SIGTERM: finish the current step, save a checkpoint, stop; the run can be resumed."""

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # not the main thread: the caller handles signals
                self._previous[sig] = signal.signal(sig, self._handle)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.requested is not None:
            control.should_save = True
            control.should_training_stop = True


class RichProgress(TrainerCallback):
    """One rich progress bar: step, loss, learning rate, tokens/s and ETA (main process only)."""

    def __init__(self, console: Any, counter: TokenCounter, *, enabled: bool = True, perplexity: bool = True) -> None:
        self.console = console
        self.counter = counter
        self.enabled = enabled
        self.perplexity = perplexity  # False for losses that are not a language model's (DPO)
        self.progress: Any = None
        self.task: Any = None
        self.fields = {"loss": "-", "lr": "-", "tps": "-"}
        self._start = time.perf_counter()
        self._tokens0 = 0

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not (self.enabled and state.is_world_process_zero):
            return
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

        from ru_llm.core.progress import make_progress

        self.progress = make_progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  lr {task.fields[lr]}  {task.fields[tps]} tok/s"),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task("train", total=state.max_steps, completed=state.global_step, **self.fields)
        self._start = time.perf_counter()
        self._tokens0 = self.counter.tokens

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is None:
            return
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        self.fields["tps"] = f"{(self.counter.tokens - self._tokens0) / elapsed:,.0f}"
        self.progress.update(self.task, completed=state.global_step, **self.fields)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if self.progress is None or not logs:
            return
        if "loss" in logs:
            self.fields["loss"] = f"{logs['loss']:.4f}"
        if "learning_rate" in logs:
            self.fields["lr"] = f"{logs['learning_rate']:.2e}"
        if "eval_loss" in logs:
            if "eval_rewards/margins" in logs:
                extra = f"reward margin {logs['eval_rewards/margins']:.4f}"
                if "eval_rewards/accuracies" in logs:
                    extra += f", accuracy {logs['eval_rewards/accuracies']:.2f}"
            elif self.perplexity:
                extra = f"perplexity {math.exp(min(logs['eval_loss'], 50)):.2f}"
            else:
                extra = ""
            self.progress.console.print(
                f"step {state.global_step}: validation loss {logs['eval_loss']:.4f}" + (f", {extra}" if extra else "")
            )
        self.progress.update(self.task, **self.fields)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
