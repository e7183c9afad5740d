"""lm-evaluation-harness on our MMLU task YAMLs: the reference the parity test and the bench compare with."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class LMEvalAnswer(NamedTuple):
    """One question as lm-eval saw and scored it."""

    logprobs: list[float]  # the log-likelihood of each letter, A to D
    gold: int
    prompt: str  # the context the letters were scored after (description, shots, question, "Answer:")


def lm_eval_mmlu(
    model_dir: Path,
    tasks_dir: Path,
    names: list[str],
    shots: int,
    *,
    batch_size: int = 8,
    add_bos: bool | None = None,
    limit: int | None = None,
) -> dict[str, LMEvalAnswer]:
    """lm-eval's answer to each question, ``{"anatomy/0": LMEvalAnswer(...), ...}``; ``limit``: the first
    questions of each subject."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    extra = {} if add_bos is None else {"add_bos_token": add_bos}
    lm = HFLM(pretrained=str(model_dir), device="cpu", batch_size=batch_size, dtype="float32", **extra)
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=names,
        num_fewshot=shots,
        limit=limit,
        log_samples=True,
        task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=False),
        bootstrap_iters=0,
    )
    from ru_llm.eval.lm_eval_bridge import sample_arguments

    found = {}
    for name in names:
        subject = name.removeprefix("ru_llm_mmlu_")
        for sample in out["samples"][name]:
            contexts = {args[0] for args in sample_arguments(sample)}
            assert len(contexts) == 1, contexts  # the four letters follow one prompt
            found[f"{subject}/{sample['doc_id']}"] = LMEvalAnswer(
                [float(r[0]) for r in sample["filtered_resps"]], sample["target"], contexts.pop()
            )
    return found
