"""`ru-llm chat MODEL_DIR [--adapter DIR] [--template NAME] [--system TEXT] [--prompt TEXT]`.

Every path, file and name is checked here before torch or transformers is imported, so a mistake
answers in a second.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ru_llm.core.errors import ConfigError
from ru_llm.core.families import load_model_config

# files that carry a tokenizer's chat template (transformers 4.43+ writes the .jinja; older ones the config key)
_TEMPLATE_FILES = ("chat_template.jinja", "chat_template.json")
_COMPARED = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers", "n_embd", "n_layer", "d_model")


@dataclass(frozen=True)
class ChatSources:
    """Where the weights, the adapter and the chat tokenizer come from (checked, nothing loaded)."""

    model: str
    adapter: str | None
    tokenizer: str  # the adapter's own tokenizer when it has one (its template is the trained one)


def chat_command(
    model_dir: Annotated[
        str | None,
        typer.Argument(
            help="A model directory (a merged model, an LEP output, any transformers model) or hub id; a LoRA "
            "adapter directory here loads its base from adapter_config.json.",
            show_default=False,
        ),
    ] = None,
    adapter: Annotated[
        str | None, typer.Option(help="A peft adapter directory to apply (its base: MODEL_DIR, else its config's).")
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(help="Render with this registered template (default: the tokenizer's saved chat template)."),
    ] = None,
    system: Annotated[str | None, typer.Option(help="The system message.")] = None,
    prompt: Annotated[
        str | None, typer.Option(help="Answer this one message, print the reply alone on stdout, and exit.")
    ] = None,
    preset: Annotated[
        str, typer.Option(help="Generation settings as `eval run`'s mt_bench: greedy, paper or fastchat.")
    ] = "greedy",
    max_new_tokens: Annotated[
        int | None, typer.Option(min=1, help="Longest reply in tokens (replaces the preset's).")
    ] = None,
    temperature: Annotated[
        float | None, typer.Option(min=0.0, help="Sample at this temperature (0: greedy; replaces the preset's).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed when sampling.")] = 0,
    max_length: Annotated[
        int | None,
        typer.Option(min=16, help="Context in tokens (default: the model's); older turns are dropped to fit it."),
    ] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    dtype: Annotated[str, typer.Option(help="auto, bf16, fp16 or fp32.")] = "auto",
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="Run code shipped with the model.")
    ] = False,
) -> None:
    """Chat with a model through its chat template; replies stream. /reset, /system TEXT, /exit."""
    from ru_llm.core.options import parse_device
    from ru_llm.eval.chat import COMMANDS, GenerationSettings

    sources = resolve_sources(model_dir, adapter)
    template_name = check_template(template, sources.tokenizer)
    if dtype not in ("auto", "bf16", "fp16", "fp32"):
        raise ConfigError(f"--dtype {dtype!r}: expected auto, bf16, fp16 or fp32")
    parse_device(device)
    if prompt is not None and not prompt.strip():
        raise ConfigError("--prompt is empty", hint="give the message to answer")
    generation = GenerationSettings(preset=preset, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed)
    generation.params()  # an unknown preset stops here, before anything loads

    from ru_llm.eval.chat import ChatModel, ChatSession, chat_loop, read_line
    from ru_llm.eval.models.hf import ModelSettings

    settings = ModelSettings(
        model=sources.model,
        adapter=sources.adapter,
        device=device,
        dtype=dtype,
        max_length=max_length,
        trust_remote_code=trust_remote_code,
    )
    tokenizer_dir = sources.tokenizer if sources.tokenizer != sources.model else None
    model = ChatModel(settings, tokenizer_dir=tokenizer_dir, template=template_name)
    session = ChatSession(model, generation, system=system)
    if prompt is not None:
        for chunk in session.reply(prompt):
            sys.stdout.write(chunk)
            sys.stdout.flush()
        sys.stdout.write("\n")
        return
    template_used = template_name or "the tokenizer's chat template"
    session.note(
        f"chat with {model.name} ({template_used}, {model.context}-token context, preset {preset}); "
        f"{COMMANDS}; Ctrl-D or Ctrl-C also ends"
    )
    try:
        chat_loop(session, lambda: read_line("> "), sys.stdout)
    except KeyboardInterrupt:
        sys.stdout.write("\n")


def resolve_sources(model_dir: str | None, adapter: str | None) -> ChatSources:
    """The model, adapter and tokenizer to load, each checked to be there with its files."""
    from ru_llm.core.hf import TOKENIZER_FILES, check_model_source

    if model_dir is None and adapter is None:
        raise ConfigError("no model given", hint="ru-llm chat MODEL_DIR, or ru-llm chat --adapter DIR")
    local = Path(model_dir).expanduser() if model_dir else None
    if local and local.is_dir() and not (local / "config.json").is_file() and (local / "adapter_config.json").is_file():
        if adapter:
            raise ConfigError(f"{model_dir}: is a LoRA adapter, and --adapter {adapter} is given too",
                              hint="give the base model as MODEL_DIR and the adapter as --adapter")  # fmt: skip
        model_dir, adapter = None, model_dir
    adapter_tokenizer = False
    if adapter:
        trained_on = _adapter_base(adapter)
        adapter_tokenizer = any((Path(adapter) / name).is_file() for name in TOKENIZER_FILES)
        if model_dir is None:
            if not trained_on:
                raise ConfigError(f"--adapter {adapter}: adapter_config.json names no base_model_name_or_path",
                                  hint="give the base model as MODEL_DIR")  # fmt: skip
            model_dir = trained_on
            what = f"the adapter's base ({adapter}/adapter_config.json base_model_name_or_path)"
        else:
            what = "MODEL_DIR"
    else:
        what = "MODEL_DIR"
    assert model_dir is not None
    base = check_model_source(model_dir, what=what, need_tokenizer=not adapter_tokenizer)
    if base is not None:
        if not any(base.glob("*.safetensors")):
            raise ConfigError(
                f"{what}: {model_dir}: no *.safetensors weights (ru-llm reads weights only as safetensors)",
                hint="save the model with save_pretrained(DIR, safe_serialization=True)",
            )
        if adapter and trained_on:
            _check_same_base(adapter, trained_on, base)
    return ChatSources(model=model_dir, adapter=adapter, tokenizer=adapter if adapter_tokenizer else model_dir)


def _adapter_base(adapter: str) -> str | None:
    """The adapter's ``base_model_name_or_path``, after checking its directory and files."""
    path = Path(adapter).expanduser()
    hint = "pass a directory written by a LoRA run (adapter_config.json, adapter_model.safetensors)"
    if not path.is_dir():
        raise ConfigError(f"--adapter {adapter}: {'is a file' if path.exists() else 'no such directory'}", hint=hint)
    config_file = path / "adapter_config.json"
    if not config_file.is_file():
        raise ConfigError(f"--adapter {adapter}: no adapter_config.json, so not a peft adapter", hint=hint)
    if not (path / "adapter_model.safetensors").is_file():
        raise ConfigError(f"--adapter {adapter}: no adapter_model.safetensors (ru-llm reads safetensors only)",
                          hint=hint)  # fmt: skip
    config = load_model_config(config_file)
    base = config.get("base_model_name_or_path")
    return base if isinstance(base, str) and base.strip() else None


def _check_same_base(adapter: str, trained_on: str, base: Path) -> None:
    """Refuse an adapter trained on another architecture than ``base`` when its recorded base is here
    to compare with (a copy of the same model passes; a hub id is left to loading)."""
    recorded = Path(trained_on).expanduser()
    if not (recorded / "config.json").is_file() or recorded.resolve() == base.resolve():
        return
    theirs, ours = load_model_config(recorded / "config.json"), load_model_config(base / "config.json")
    differ = [k for k in _COMPARED if theirs.get(k) != ours.get(k)]
    if differ:
        key = differ[0]
        raise ConfigError(
            f"--adapter {adapter} was trained on {trained_on}, which differs from MODEL_DIR {base} "
            f"({key} {theirs.get(key)} vs {ours.get(key)})",
            hint="give the base it was trained on as MODEL_DIR, or leave MODEL_DIR out to use that base",
        )


def check_template(name: str | None, tokenizer: str) -> str | None:
    """``name`` when it is a registered template; with none, the tokenizer must carry a chat template."""
    from ru_llm.dataset.registry import get_template, templates

    if name is not None:
        get_template(name)  # an unknown name lists the known ones
        if name != "hf":
            return name
    path = Path(tokenizer).expanduser()
    if path.is_dir() and not _has_chat_template(path):
        known = ", ".join(n for n in templates().names() if n != "hf")
        raise ConfigError(
            f"{tokenizer}: the tokenizer has no chat template (no chat_template in tokenizer_config.json, "
            "no chat_template.jinja)",
            hint=f"pass --template NAME, the template it was trained with ({known})",
        )
    return None


def _has_chat_template(path: Path) -> bool:
    if any((path / name).is_file() for name in _TEMPLATE_FILES) or (path / "additional_chat_templates").is_dir():
        return True
    config = path / "tokenizer_config.json"
    return config.is_file() and bool(load_model_config(config).get("chat_template"))
