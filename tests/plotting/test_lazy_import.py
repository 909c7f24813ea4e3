"""`import skdl.plotting` and `import skdl.diagnostics` must not import matplotlib."""

import subprocess
import sys


def test_imports_do_not_import_matplotlib():
    code = "import sys, skdl.plotting, skdl.diagnostics; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
