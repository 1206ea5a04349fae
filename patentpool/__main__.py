from patentpool.cli import main

main()
