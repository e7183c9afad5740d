"""``python -m gpu_suite`` (with bench/ and tests/ on PYTHONPATH; bench/gpu_suite.sh sets them)."""

from gpu_suite.run import main

main()
