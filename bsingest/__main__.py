"""``python -m bsingest``: the ``bsingest`` command, for machines where the script is not on
PATH (a rig's Windows service, a venv not activated)."""

from bsingest.cli.main import main

if __name__ == "__main__":
    main()
