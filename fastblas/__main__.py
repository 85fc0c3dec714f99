"""The fastblas command line: ``fastblas`` or ``python -m fastblas``.

The parser and the dispatch; each command lives in ``fastblas.cli``.
"""
import argparse
import sys

from fastblas.cli import _options

DESCRIPTION = "fastblas: SciPy's BLAS called straight from Cython."
EPILOG = """\
examples:
  fastblas                        the demo (the default): speed-ups measured here,
                                  then an MLP and an RBM trained on Fashion-MNIST
  fastblas --quick                the demo, smaller (any demo option works here)
  fastblas train mlp --plot curves.png
                                  train a model, with progress; Ctrl-C stops cleanly
  fastblas bench level1           a comparison script (also: gemm, train, ...)

Each command takes --help. Fashion-MNIST comes from --data DIR, $FASTBLAS_DATA or
/usr/share/datasets/fashion-mnist (Debian: apt-get install dataset-fashion-mnist),
else a 5000-image subset embedded in fastblas.
"""


class Parser(argparse.ArgumentParser):
    """argparse, with errors worded "--epochs: expected ..." rather than "argument --epochs: ..."."""

    def error(self, message):
        super().error(message.removeprefix("argument "))


def build_parser():
    from fastblas import __version__
    from fastblas.cli import bench, demo, train
    parser = Parser(prog="fastblas", description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"fastblas {__version__}")
    commands = parser.add_subparsers(dest="command", title="commands",
                                     metavar="{demo,train,bench}")
    for name, module, summary in (
            ("demo", demo, "speed-ups and training measured on this machine (the default)"),
            ("train", train, "train an RBM or an MLP on Fashion-MNIST"),
            ("bench", bench, "run a comparison script")):
        command = commands.add_parser(name, help=summary, description=module.description(),
                                      formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(run=module.run, parser=command)
    return parser


def _with_default_command(argv):
    """The demo is the default command: ``fastblas --quick`` means ``fastblas demo --quick``."""
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return ["demo", *argv]
    return argv


def main(argv=None):
    from fastblas.cli._training import Interrupted
    parser = build_parser()
    args = parser.parse_args(_with_default_command(sys.argv[1:] if argv is None else argv))
    try:
        return args.run(args)
    except _options.UsageError as exc:
        args.parser.error(str(exc))
    except _options.DataError as exc:
        print(f"fastblas: {exc}", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(exc, file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
