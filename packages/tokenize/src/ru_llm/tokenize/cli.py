"""`ru-llm tokenize`: Russian vocabularies for multilingual models."""

import typer

app = typer.Typer(
    name="tokenize",
    help="Learn a Russian vocabulary, extend a tokenizer, resize a model (not available yet: issue #5).",
)
