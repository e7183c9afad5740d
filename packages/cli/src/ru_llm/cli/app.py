"""Builds the ``ru-llm`` Typer app: every command comes from a ``register_commands`` hook."""

from __future__ import annotations

import typer

from ru_llm.cli.group import RuLLMGroup
from ru_llm.core.errors import PluginError
from ru_llm.core.plugins import add_package, get_plugin_manager
from ru_llm.core.versions import installed_versions

add_package("ru-llm", hookspecs="ru_llm.cli.hookspecs", builtins=("ru_llm.cli.builtin_commands",))

DISTRIBUTIONS = (
    "ru-llm",
    "ru-llm-core",
    "ru-llm-dataset",
    "ru-llm-translate",
    "ru-llm-tokenize",
    "ru-llm-train",
    "ru-llm-eval",
)


def _version_callback(value: bool) -> None:
    if value:
        for dist, version in installed_versions(DISTRIBUTIONS).items():
            typer.echo(f"{dist} {version or '(not installed)'}")
        raise typer.Exit()


def _command_names(app: typer.Typer) -> list[str]:
    """The names the app's commands and sub-apps will have, derived as Typer derives them."""
    from typer.main import get_command_name

    names = [c.name or (get_command_name(c.callback.__name__) if c.callback else "") for c in app.registered_commands]
    names += [g.name or (g.typer_instance.info.name if g.typer_instance else "") for g in app.registered_groups]
    return [n for n in names if n]


def build_app() -> typer.Typer:
    """The root app with the commands of every built-in and third-party plugin."""
    app = typer.Typer(
        name="ru-llm",
        cls=RuLLMGroup,
        help="Build Russian instruction-following language models: translate, build datasets, adapt "
        "tokenizers, train and evaluate.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    @app.callback()
    def root(
        version: bool = typer.Option(
            False,
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show package versions and exit.",
        ),
        verbose: bool = typer.Option(
            False,
            "--verbose",
            "-v",
            envvar="RU_LLM_VERBOSE",
            help="Show every library's warnings and progress bars (by default the ones a user cannot act "
            "on are hidden: ru_llm.core.quiet lists them).",
        ),
    ) -> None:
        """Build Russian instruction-following language models."""
        from ru_llm.core.quiet import quiet_third_party

        quiet_third_party(verbose=verbose)

    pm = get_plugin_manager()
    owners: dict[str, str] = {}
    for plugin_name, call in pm.ordered_calls("register_commands"):
        before = set(_command_names(app))
        call(app=app)
        added = _command_names(app)
        for name in set(added) - before:
            owners[name] = plugin_name
        clashes = {n for n in added if added.count(n) > 1}
        if clashes:
            name = sorted(clashes)[0]
            owner = owners.get(name, "?")
            already = "twice" if owner == plugin_name else f"which plugin {owner!r} already provides"
            raise PluginError(
                f"plugin {plugin_name!r} adds the command {name!r} {already}",
                hint="rename the command in the plugin",
            )
    # Only now is every package imported (the built-in commands import them), so every hook is known.
    pm.check_hooks()
    return app
