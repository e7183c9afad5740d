"""The model side of evaluation: answer a task's requests in batches."""
