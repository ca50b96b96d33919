from lakeshrink.cli.main import main

main()
