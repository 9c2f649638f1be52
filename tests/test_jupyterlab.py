"""JupyterLab opens the py:percent sources as notebooks (jupytext's contents manager)."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_jupyter_lab_serves_the_py_sources_as_notebooks(tmp_path):
    """Served from a copy in which the executed .ipynb is newer than its .py source, as a clone may leave them."""
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    shutil.copy(ROOT / "pyproject.toml", root)
    for suffix in (".py", ".ipynb"):
        shutil.copy(ROOT / "notebooks" / f"04_pretraining{suffix}", root / "notebooks")
    now = time.time()
    os.utime(root / "notebooks" / "04_pretraining.py", (now - 3600, now - 3600))
    port, token = free_port(), "dystress-test-token"
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False",
         "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=os.environ | {"JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "run")})
    try:
        deadline = time.time() + 90
        while True:
            try:
                get(f"http://127.0.0.1:{port}/api/status", token)
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise AssertionError("jupyter lab did not start")
                time.sleep(0.5)
        model = get(f"http://127.0.0.1:{port}/api/contents/notebooks/04_pretraining.py?type=notebook&content=1", token)
        assert model["type"] == "notebook"
        cells = model["content"]["cells"]
        assert any("parameters" in c["metadata"].get("tags", []) for c in cells)
        assert cells[0]["cell_type"] == cells[1]["cell_type"] == "markdown"  # the links to its neighbours, the title
        assert cells[1]["source"].startswith("# 04 · Pretraining")
    finally:
        server.terminate()
        server.wait(timeout=30)
