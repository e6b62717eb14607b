"""Command-line tools: one thin module a command.

Each module has ``main(argv=None) -> int``, registered as a console script
(``sertk-extract`` is :func:`sertk.cli.extract.main`). A command only parses
its arguments and calls the library; shared argument handling lives in
:mod:`sertk.cli._common`.
"""
