from cldetl.cli import main

main()
