"""`ru-llm train`: fine-tune models."""

import typer

app = typer.Typer(
    name="train",
    help="Fine-tune fully (DeepSpeed ZeRO-3) or with LoRA, train embeddings, run LEP (not available yet).",
)
