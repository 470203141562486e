"""python -m ocr [run|train|eval] ...: the installed commands without their scripts (run is the default)."""
import sys

from . import cli, evaluate, train

COMMANDS = {"run": cli.main, "train": train.main, "eval": evaluate.main}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
