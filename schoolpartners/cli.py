"""Console entry point: `schoolpartners <command>` runs a Django management command.

Examples: `schoolpartners import --all`, `schoolpartners serve`, `schoolpartners similarity recompute`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolpartners.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    execute_from_command_line(["schoolpartners", *args])


if __name__ == "__main__":
    main()
