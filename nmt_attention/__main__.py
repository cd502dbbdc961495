"""``python -m nmt_attention`` and the ``nmt-attention`` command. Every command of this
tutorial needs TensorFlow: where only the inference part is installed, one line says what
to install."""

import sys

from common.cli import missing_extra


def main(argv=None) -> int:
    try:
        from nmt_attention.cli import main as command_line
    except ModuleNotFoundError as error:
        return missing_extra(error, "nmt_attention")
    return command_line(argv)


if __name__ == "__main__":
    sys.exit(main())
