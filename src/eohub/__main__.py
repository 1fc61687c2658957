"""``python -m eohub``: the same as the ``eohub`` console script."""

from eohub.cli.main import app

app(prog_name="eohub")
