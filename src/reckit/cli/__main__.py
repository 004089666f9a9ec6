"""``python -m reckit.cli``."""

from reckit.cli import main

if __name__ == "__main__":
    main()
