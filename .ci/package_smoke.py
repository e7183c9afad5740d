"""Run inside a fresh environment that holds one ru-llm package and its declared dependencies only.

Usage: python package_smoke.py DISTRIBUTION [--no-torch]

Imports the package, loads its built-in plugins through the plugin manager (every one must implement a hook),
shows its commands' ``--help`` (the package's Typer sub-app; ``ru-llm --help`` for the ``ru-llm`` distribution),
and checks that none of that imported torch or transformers. ``--no-torch``: torch must not even be installed.
Prints one line; exits non-zero with the reason on the first failure.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import io
import sys

HEAVY = ("torch", "transformers", "datasets")


def module_of(distribution: str) -> str:
    return "ru_llm.cli" if distribution == "ru-llm" else "ru_llm." + distribution.removeprefix("ru-llm-")


def fail(distribution: str, reason: str) -> None:
    print(f"{distribution}: FAILED: {reason}", file=sys.stderr)
    sys.exit(1)


def show_help(distribution: str, module: str) -> str:
    """The commands' help text; the ``ru-llm`` app is built as its console script builds it."""
    import typer.main

    if distribution == "ru-llm":
        from ru_llm.cli.app import build_app

        command, name = typer.main.get_command(build_app()), "ru-llm"
    else:
        app = importlib.import_module(f"{module}.commands").app
        command, name = typer.main.get_command(app), app.info.name
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            command.main(["--help"], prog_name=name, standalone_mode=False)
        except SystemExit as exit_:  # click exits after --help in some versions
            if exit_.code not in (0, None):
                raise
    return out.getvalue()


def main() -> None:
    distribution, *flags = sys.argv[1:]
    module = module_of(distribution)
    importlib.import_module(module)

    from ru_llm.core.plugins import get_plugin_manager

    pm = get_plugin_manager()
    pm.check_hooks(strict=distribution == "ru-llm")
    own = [info for info in pm.plugin_infos() if info.builtin and info.distribution == distribution]
    if not own:
        fail(distribution, "no built-in plugin registered")
    idle = [info.name for info in own if not info.hooks]
    if idle:
        fail(distribution, f"built-in plugins implementing no hook: {', '.join(idle)}")

    commands = 0
    if importlib.util.find_spec(f"{module}.commands") or distribution == "ru-llm":
        text = show_help(distribution, module)
        if "Usage:" not in text:
            fail(distribution, f"--help printed no usage: {text[:200]!r}")
        commands = 1

    imported = sorted(name for name in HEAVY if name in sys.modules)
    if imported:
        fail(distribution, f"importing it, its plugins and its --help imported {', '.join(imported)}")
    if "--no-torch" in flags:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            fail(distribution, f"torch {importlib.metadata.version('torch')} is installed with it")
    installed = sum(1 for _ in importlib.metadata.distributions())
    hooks = sorted({hook for info in own for hook in info.hooks})
    print(
        f"{distribution}: ok ({installed} distributions, {len(own)} built-in plugins: {', '.join(hooks)}"
        f"{', --help' if commands else ''}{', no torch' if '--no-torch' in flags else ''})"
    )


if __name__ == "__main__":
    main()
