"""``python -m classify`` and the ``nmt-classify`` command. Every classify command needs
TensorFlow: where only the inference part is installed, one line says what to install."""

import sys

from common.cli import missing_extra


def main(argv=None) -> int:
    try:
        from classify.cli import main as command_line
    except ModuleNotFoundError as error:
        return missing_extra(error, "classify")
    return command_line(argv)


if __name__ == "__main__":
    sys.exit(main())
