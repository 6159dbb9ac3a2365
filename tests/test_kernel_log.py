"""The kernel log filter drops ipykernel's plain-TCP notice and nothing else."""

import json
import logging

from dltheory import _kernel_log


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("IPKernelApp", logging.WARNING, __file__, 1, message, None, None)


def test_filter_drops_only_the_tcp_notice():
    f = _kernel_log.DropPlainTcpNotice()
    assert not f.filter(_record(_kernel_log.NOTICE + ". All communication ..."))
    assert f.filter(_record("Failed to load connection file"))
    assert f.filter(_record("a message that mentions " + _kernel_log.NOTICE))


def test_config_file_names_the_filter_on_the_console_handler(tmp_path):
    path = _kernel_log.write_config(tmp_path / "etc" / "ipython")
    assert path.name == "ipython_kernel_config.json"
    logging_config = json.loads(path.read_text())["IPKernelApp"]["logging_config"]
    (name,) = logging_config["filters"]
    assert logging_config["handlers"]["console"]["filters"] == [name]
    factory = logging_config["filters"][name]["()"]
    assert factory == f"{_kernel_log.__name__}.{_kernel_log.DropPlainTcpNotice.__name__}"
