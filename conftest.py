"""Test session setup shared by the unit tests and nbval's notebook runs.

Kernels started by papermill or nbval inherit this environment: figures go to a temporary folder
instead of the repository, and progress bars stay quiet.
"""

import os
import tempfile


def pytest_configure(config):
    os.environ.setdefault("DYSTRESS_FIG_DIR", tempfile.mkdtemp(prefix="dystress-figures-"))
    os.environ["TQDM_DISABLE"] = "1"
