"""Running dataset commands in tests: the whole ``ru-llm`` app, or ``render`` mounted alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def run(*args: Any) -> Any:
    """``ru-llm ARGS`` in-process; the click Result."""
    from typer.testing import CliRunner

    from ru_llm.cli.app import build_app

    return CliRunner().invoke(build_app(), [str(a) for a in args], env={"COLUMNS": "200"})


def recipe_file(tmp_path: Path, **recipe: Any) -> Path:
    """A ``dataset build`` recipe YAML in ``tmp_path``."""
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe, allow_unicode=True))
    return path


def invoke_render(*args: object, env: dict[str, str | None] | None = None) -> Any:
    """``render ARGS`` mounted as in ru_llm.cli: a group that turns RuLLMError into one line and exit code 1."""
    import typer
    from typer.testing import CliRunner

    from ru_llm.cli.group import RuLLMGroup
    from ru_llm.dataset.commands.render_cmd import render_command

    app = typer.Typer(cls=RuLLMGroup, pretty_exceptions_enable=False)

    @app.callback()
    def root() -> None:
        """Test app."""

    app.command("render")(render_command)
    return CliRunner().invoke(app, ["render", *map(str, args)], env={"COLUMNS": "200", **(env or {})})
