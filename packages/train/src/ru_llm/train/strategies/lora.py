"""``lora``: peft LoRA adapters on a bf16, int8 or NF4 base (the paper's Saiga-style run: int8, r 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import ModelFamily
from ru_llm.train.config import RunConfig
from ru_llm.train.settings.lora import LoraSettings
from ru_llm.train.strategy import StrategyDefaults


def _require_bitsandbytes(config: RunConfig) -> Any:
    from ru_llm.core.deps import require
    from ru_llm.core.quiet import quiet_third_party

    quiet_third_party()  # before the first import of bitsandbytes, which warns about an optional package

    return require(
        "bitsandbytes",
        purpose=f"lora.quantization: {config.lora.quantization}",
        package="ru-llm-train",
        extra="bitsandbytes",
    )


class LoraFineTuning(StrategyDefaults):
    name = "lora"
    description = "peft LoRA adapters (r, alpha, dropout, targets from the model family); int8 or nf4 base"
    data_kind = "conversations"
    settings_class = LoraSettings

    def frozen_base(self, config: RunConfig) -> bool:
        return True  # only the adapters (and lora.modules_to_save) train

    def settings_shown(self, config: RunConfig) -> set[str]:
        shown = {"lora"}
        if config.lora.train_embeddings:
            shown.add("embeddings")  # embeddings.lr
        if config.full.deepspeed is not None:
            shown.add("full")
        return shown

    def check(self, config: RunConfig) -> None:
        if config.lora.quantization != "none":
            _require_bitsandbytes(config)
            if config.full.deepspeed is not None:
                raise ConfigError(
                    "lora.quantization cannot be combined with full.deepspeed",
                    hint="quantised LoRA runs one process per GPU (torchrun/accelerate without DeepSpeed)",
                )

    def model_options(self, config: RunConfig) -> dict[str, Any]:
        if config.lora.quantization == "none":
            return {}
        import torch
        from transformers import BitsAndBytesConfig

        _require_bitsandbytes(config)
        if config.lora.quantization == "int8":
            return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True)}
        compute = torch.bfloat16 if config.precision in ("bf16", "auto") and _has_bf16() else torch.float32
        return {
            "quantization_config": BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=compute,
            )
        }

    def prepare(self, model: Any, config: RunConfig, family: ModelFamily) -> Any:
        from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

        settings = config.lora
        if settings.quantization != "none":
            model = prepare_model_for_kbit_training(
                model,
                use_gradient_checkpointing=config.gradient_checkpointing,
                gradient_checkpointing_kwargs={"use_reentrant": False},
            )
        targets = list(settings.target_modules or family.lora_target_modules)
        names = [name for name, _ in model.named_modules()]
        missing = [t for t in targets if not any(n == t or n.endswith("." + t) for n in names)]
        if missing:
            raise ConfigError(
                f"lora.target_modules: no module of this {family.name} model is named {missing[0]!r}",
                hint=f"the {family.name} family adapts {', '.join(family.lora_target_modules)}",
            )
        lora = LoraConfig(
            r=settings.r,
            lora_alpha=settings.alpha,
            lora_dropout=settings.dropout,
            target_modules=targets,
            modules_to_save=_modules_to_save(model, config, family),
            layers_to_transform=_layers(model, settings.layers),
            bias=settings.bias,
            fan_in_fan_out=family.lora_fan_in_fan_out,
            task_type="CAUSAL_LM",
        )
        model = get_peft_model(model, lora)
        if config.gradient_checkpointing:
            model.enable_input_require_grads()  # checkpointed blocks need a grad-carrying input
        return model

    def parameter_groups(self, model: Any, config: RunConfig) -> list[dict[str, Any]] | None:
        """With ``lora.train_embeddings`` and ``embeddings.lr``: the embedding copies at their own rate."""
        if not (config.lora.train_embeddings and config.embeddings.lr is not None):
            return None
        trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        embeddings = [p for name, p in trainable if "modules_to_save" in name]
        others = [p for name, p in trainable if "modules_to_save" not in name]
        return [{"params": others}, {"params": embeddings, "lr": config.embeddings.lr}]

    def trainer_arguments(self, config: RunConfig, output_dir: Path) -> dict[str, Any]:
        from ru_llm.train.deepspeed import deepspeed_arguments

        return deepspeed_arguments(config)

    def save(self, trainer: Any, output_dir: Path) -> None:
        # only our adapter: TRL's DPOTrainer (dpo.method: lora) adds a frozen copy of it named "ref"
        trainer.model.save_pretrained(str(output_dir), safe_serialization=True, selected_adapters=["default"])


def _layers(model: Any, layers: list[int] | None) -> list[int] | None:
    """``lora.layers`` with negative indices counted from the last decoder layer."""
    if not layers:
        return None
    count = getattr(model.config, "num_hidden_layers", None) or getattr(model.config, "n_layer", None)
    if not count:
        raise ConfigError("lora.layers: this model's config does not say how many layers it has")
    resolved = sorted({layer + count if layer < 0 else layer for layer in layers})
    if resolved[0] < 0 or resolved[-1] >= count:
        raise ConfigError(f"lora.layers {layers}: the model has layers 0..{count - 1}")
    return resolved


def _modules_to_save(model: Any, config: RunConfig, family: ModelFamily) -> list[str] | None:
    """``lora.modules_to_save``, plus the embedding matrices with ``lora.train_embeddings`` (Ruadapt
    stage 2); a tied model's one matrix is saved once, through the input embeddings."""
    names = list(config.lora.modules_to_save or [])
    if config.lora.train_embeddings:
        names.append(family.input_embeddings.rsplit(".", 1)[-1])
        if not family.embeddings_tied(model.config):
            names.append(family.lm_head.rsplit(".", 1)[-1])
    return list(dict.fromkeys(names)) or None


def _has_bf16() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
