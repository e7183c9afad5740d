from ru_llm.cli.main import main

main()
