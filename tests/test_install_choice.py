""".ci/torch_build.py: which PyTorch build `make` installs, with the GPU and index probes injected."""

from __future__ import annotations

import http.server
import importlib.util
import socket
import threading
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / ".ci" / "torch_build.py"
spec = importlib.util.spec_from_file_location("torch_build", SCRIPT)
torch_build = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_build)

REQ = "torch==2.13.0"


def never(name):
    def probe():
        raise AssertionError(f"the {name} probe should not run here")

    return probe


def test_linux_without_gpu_gets_the_cpu_build_from_pytorchs_index():
    args, reason = torch_build.choose(REQ, "Linux", gpu=lambda: False, cpu_index=lambda: True)
    assert args == [REQ, "--index-url", "https://download.pytorch.org/whl/cpu"]
    assert "CPU build" in reason


def test_linux_with_gpu_gets_pypis_cuda_build_without_probing_the_index():
    args, reason = torch_build.choose(REQ, "Linux", gpu=lambda: True, cpu_index=never("index"))
    assert args == [REQ]
    assert "CUDA" in reason


def test_linux_without_gpu_falls_back_to_pypi_when_pytorchs_index_is_out_of_reach():
    args, reason = torch_build.choose(REQ, "Linux", gpu=lambda: False, cpu_index=lambda: False)
    assert args == [REQ]
    assert "out of reach" in reason


@pytest.mark.parametrize("system", ["Darwin", "Windows"])
def test_other_systems_get_pypis_build_without_any_probe(system):
    args, _ = torch_build.choose(REQ, system, gpu=never("GPU"), cpu_index=never("index"))
    assert args == [REQ]


def test_gpu_probe_looks_for_nvidia_smi_on_the_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert torch_build.has_nvidia_gpu() is False
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert torch_build.has_nvidia_gpu() is True


class _Index(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self):  # noqa: N802 (the name http.server calls)
        self.send_response(200 if self.path == "/whl/cpu/torch/" else 404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def index_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_index_probe_is_true_for_an_index_that_serves_torch(index_server):
    assert torch_build.index_answers(index_server + "/whl/cpu", seconds=5) is True


def test_index_probe_is_false_for_an_http_error(index_server):
    assert torch_build.index_answers(index_server + "/nothing-here", seconds=5) is False


def test_index_probe_is_false_at_once_for_a_refused_connection():
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    assert torch_build.index_answers(f"http://127.0.0.1:{port}/whl/cpu", seconds=5) is False
    assert time.monotonic() - start < 2


def test_index_probe_gives_up_on_a_silent_server_within_its_time():
    with socket.socket() as silent:  # accepts connections (backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        start = time.monotonic()
        assert torch_build.index_answers(f"http://127.0.0.1:{silent.getsockname()[1]}/whl/cpu", seconds=1) is False
        assert time.monotonic() - start < 3


def test_command_line_prints_pip_arguments_and_the_reason(capsys, monkeypatch):
    monkeypatch.setattr(torch_build.platform, "system", lambda: "Linux")
    monkeypatch.setattr(torch_build, "has_nvidia_gpu", lambda: False)
    monkeypatch.setattr(torch_build, "index_answers", lambda: True)
    assert torch_build.main([REQ]) == 0
    out, err = capsys.readouterr()
    assert out.split() == [REQ, "--index-url", torch_build.CPU_INDEX]
    assert "CPU build" in err
    assert torch_build.main([]) == 2
