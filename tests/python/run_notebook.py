"""Executes a notebook with nbclient, in its own folder, as a researcher would run it.

    run_notebook.py NOTEBOOK.ipynb [EXECUTED.ipynb]

Fails (exit 1, naming the cell) when any cell raises. The executed copy, with its outputs
and figures, goes to EXECUTED.ipynb when given (never over the source notebook).
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main():
    src = Path(sys.argv[1]).resolve()
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}})
    started = time.monotonic()
    try:
        client.execute()
    except CellExecutionError as e:
        print(f"notebook {src.name}: a cell failed:\n{e}")
        return 1
    finally:
        if len(sys.argv) > 2:
            nbformat.write(nb, sys.argv[2])
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    figures = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    print(f"notebook {src.name}: {cells} code cells ran, {figures} figures, {time.monotonic() - started:.1f} s")
    if figures == 0:
        print("notebook: no figure was drawn")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
