from promptbot.cli.main import main

main()
