"""The ``fastblas`` command: one module per subcommand (demo, train, bench).

``fastblas/__main__.py`` holds the parser and the dispatch; each command module
provides ``add_arguments(parser)`` and ``run(args)``.
"""
