"""lm-evaluation-harness on our MMLU task YAMLs: the reference the parity test and the bench compare with."""

from __future__ import annotations

from pathlib import Path


def lm_eval_mmlu(
    model_dir: Path, tasks_dir: Path, names: list[str], shots: int, *, batch_size: int = 8, add_bos: bool | None = None
) -> dict[str, tuple[list[float], int]]:
    """lm-eval's per-question log-likelihoods and gold index, ``{"anatomy/0": ([ll_A, .., ll_D], 2), ...}``."""
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    extra = {} if add_bos is None else {"add_bos_token": add_bos}
    lm = HFLM(pretrained=str(model_dir), device="cpu", batch_size=batch_size, dtype="float32", **extra)
    out = lm_eval.simple_evaluate(
        model=lm,
        tasks=names,
        num_fewshot=shots,
        log_samples=True,
        task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=False),
        bootstrap_iters=0,
    )
    found = {}
    for name in names:
        subject = name.removeprefix("ru_llm_mmlu_")
        for sample in out["samples"][name]:
            found[f"{subject}/{sample['doc_id']}"] = ([float(r[0]) for r in sample["filtered_resps"]], sample["target"])
    return found
