import sys

from core.cli import main

if __name__ == "__main__":  # not when a spawned helper process re-imports the main module
    sys.exit(main())
