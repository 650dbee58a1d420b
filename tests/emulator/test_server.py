"""The server as a product: lifecycle, binding, quiet logs, robustness, and `python -m spapi_emulator`."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from spapi_emulator import Emulator
from tests.emulator.conftest import Api

ROOT = Path(__file__).resolve().parents[2]


def test_start_returns_the_base_url_and_binds_loopback() -> None:
    emulator = Emulator()
    try:
        base_url = emulator.start()
        assert base_url == emulator.base_url
        assert base_url.startswith("http://127.0.0.1:")
        assert emulator.token_url == base_url + "/auth/o2/token"
        assert emulator.upload_host == "127.0.0.1"
        assert emulator.start() == base_url  # starting twice is harmless
        assert requests.get(base_url + "/_emulator/health", timeout=5).status_code == 200
    finally:
        emulator.stop()
    emulator.stop()  # stopping twice too
    with pytest.raises(requests.ConnectionError):
        requests.get(base_url + "/_emulator/health", timeout=2)


def test_base_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = Emulator().base_url


def test_environment_points_the_workflow_at_it(api: Api) -> None:
    assert api.emulator.environment() == {
        "SPAPI_ENDPOINT": api.base_url,
        "LWA_TOKEN_URL": api.base_url + "/auth/o2/token",
        "UPLOAD_URL_ALLOWED_HOSTS": "127.0.0.1",
    }


def test_speedup_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Emulator(speedup=0)


def test_nothing_is_printed_or_logged_by_default(
    api: Api, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="spapi_emulator.http"):
        api.get_actions()
        api.get_actions(marketplace=None)

    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
    assert caplog.records == []


def test_request_lines_are_logged_when_asked(session: requests.Session, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="spapi_emulator.http"), Emulator(log_requests=True) as emulator:
        session.get(emulator.base_url + "/_emulator/health")

    assert any("GET /_emulator/health" in record.getMessage() for record in caplog.records)


def test_stop_closes_idle_keep_alive_connections(api: Api) -> None:
    assert api.get_actions().status_code == 200  # the session keeps its connection open

    started = time.monotonic()
    api.emulator.stop()

    assert time.monotonic() - started < 2.0


def test_a_client_that_goes_away_mid_upload_does_not_disturb_the_server(api: Api) -> None:
    payload = api.destination("invoice")
    url = urlsplit(payload["url"])
    head = f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Length: 1000000\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in payload["headers"].items())
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(head.encode() + b"\r\n" + b"x" * 1000)

    time.sleep(0.05)
    assert api.get_actions().status_code == 200


def test_garbage_request_line_gets_an_answer_not_a_hang(api: Api) -> None:
    url = urlsplit(api.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=5) as connection:
        connection.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = connection.recv(1024)

    assert b"400" in answer  # an HTTP/0.9-style answer: a request line that is not HTTP/1.x gets no headers


def test_python_m_spapi_emulator_prints_the_url_and_environment() -> None:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT / "local")]))
    process = subprocess.Popen(
        [sys.executable, "-m", "spapi_emulator", "--port", "0", "--speedup", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line)
            if "Stop with Ctrl+C" in line:
                break
        printed = "".join(lines)
        base_url = printed.split("listening on ", 1)[1].split()[0]
        assert f"export SPAPI_ENDPOINT={base_url}\n" in printed
        assert f"export LWA_TOKEN_URL={base_url}/auth/o2/token\n" in printed
        assert "export UPLOAD_URL_ALLOWED_HOSTS=127.0.0.1\n" in printed
        assert requests.get(base_url + "/_emulator/health", timeout=5).json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_python_m_spapi_emulator_reports_a_bad_seed(tmp_path: Path) -> None:
    seed = tmp_path / "orders.json"
    seed.write_text('{"credentials": {}, "orders": []}', encoding="utf-8")
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT / "local")]))

    finished = subprocess.run(
        [sys.executable, "-m", "spapi_emulator", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )

    assert finished.returncode == 2
    assert "credentials.clientId" in finished.stderr
