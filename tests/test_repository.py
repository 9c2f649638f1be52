"""The repository keeps its promises: the README's commands are the ones CI runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quickstart_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Quickstart.*?```bash\n(.*?)```", readme, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_quickstart_has_two_commands_and_ci_runs_the_test_one():
    commands = quickstart_commands()
    assert len(commands) == 2
    assert "dystress run" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_every_notebook_source_has_its_executed_pair_and_back():
    sources = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py")}
    executed = {p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert sources == executed and sources


def _dystress_imports():
    """{module: the dystress modules it imports, anywhere in its body}."""
    import ast

    package = ROOT / "dystress"
    modules = {".".join(f.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): f
               for f in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dystress"):
                subs = {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
                found |= subs or {node.module}
        graph[name] = found
    return graph


def test_layers_import_downwards_only_and_without_cycles():
    graph = _dystress_imports()
    order = {"checks": 0, "atomic": 0, "paths": 0, "version": 0, "options": 0, "mathematics": 1, "engine": 2,
             "pipeline": 3, "cli": 4, "__main__": 5}
    order["face"] = 4  # the package's face, dystress/__init__.py, re-exports from the layers below it
    layer = lambda module: order[module.split(".")[1] if "." in module else "face"]  # noqa: E731
    upward = [(m, d) for m, deps in graph.items() if m != "dystress" for d in deps if layer(d) > layer(m)]
    assert not upward, f"imports from a later layer: {upward}"

    def reaches(start, target, seen):
        return any(d == target or (d not in seen and not seen.add(d) and reaches(d, target, seen))
                   for d in graph.get(start, ()))

    cycles = [m for m in graph if m != "dystress" and reaches(m, m, set())]
    assert not cycles, f"modules in an import cycle: {cycles}"
