"""ru-llm's GPU suite: every performance figure of the goals, one JSON line each (bench/gpu_suite.sh)."""
