"""Quiet the one notice every notebook kernel logs at start on a machine-local TCP connection.

ipykernel warns "Kernel is running over TCP without encryption" whenever a kernel listens on TCP
without CurveZMQ keys. The book's kernels (papermill, nbval, jupyter-cache) listen on 127.0.0.1 only,
so the notice says nothing about them and only buries real messages. The install writes
``<venv>/etc/ipython/ipython_kernel_config.json`` (IPython reads ``sys.prefix/etc/ipython``), which attaches :class:`DropPlainTcpNotice` to the
kernel's console log handler: that notice alone is dropped, every other kernel message still shows.

Run as ``python -m dltheory._kernel_log DIR`` to write the config file into ``DIR``.
"""

import json
import logging
import sys
from pathlib import Path

NOTICE = "Kernel is running over TCP without encryption"
CONFIG = {
    "IPKernelApp": {
        "logging_config": {
            "filters": {"plain_tcp": {"()": "dltheory._kernel_log.DropPlainTcpNotice"}},
            "handlers": {"console": {"filters": ["plain_tcp"]}},
        }
    }
}


class DropPlainTcpNotice(logging.Filter):
    """Drops the kernel's plain-TCP notice and passes every other record."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(NOTICE)


def write_config(folder) -> Path:
    """Write ``ipython_kernel_config.json`` into ``folder`` (created if missing); return its path."""
    path = Path(folder) / "ipython_kernel_config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(CONFIG, indent=1) + "\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m dltheory._kernel_log DIR")
    print(write_config(sys.argv[1]))
