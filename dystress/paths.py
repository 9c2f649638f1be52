"""The repository the package is installed from (``pip install -e .``): its root and the folders in it
that the package reads by default (notebooks/, results/, runs/, data/)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
