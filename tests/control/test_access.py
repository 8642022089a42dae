from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from app.control.access import parse_networks
from app.settings import Settings
from tests.control.conftest import AUTH, TOKEN, build_app, change_body, client_for


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ],
    ids=["missing", "wrong", "other-scheme", "longer"],
)
async def test_bad_token_is_401_and_changes_nothing(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    response = await client.put(
        "/control/knobs/shed.max_in_flight", json=change_body(5), headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"

    knobs = (await client.get("/control", headers=AUTH)).json()["knobs"]
    assert knobs["shed.max_in_flight"]["value"] == 0
    assert knobs["shed.max_in_flight"]["change_id"] is None


async def test_non_loopback_client_is_403(settings: Settings) -> None:
    app, _ = build_app(settings)
    async with client_for(app, host="10.1.2.3") as http:
        response = await http.get("/control", headers=AUTH)
    assert response.status_code == 403
    assert "LEITSTAND_CONTROL_ALLOWED_NETWORKS" in response.json()["detail"]


async def test_allowed_networks_replace_loopback(tmp_path: Path) -> None:
    settings = Settings(
        control_token=TOKEN, state_path=tmp_path / "state", control_allowed_networks="10.0.0.0/8"
    )
    app, _ = build_app(settings)
    async with client_for(app, host="10.1.2.3") as inside:
        assert (await inside.get("/control", headers=AUTH)).status_code == 200
    async with client_for(app, host="127.0.0.1") as loopback:
        assert (await loopback.get("/control", headers=AUTH)).status_code == 403


async def test_ipv6_loopback_and_mapped_addresses(settings: Settings) -> None:
    app, _ = build_app(settings)
    for host in ("::1", "::ffff:127.0.0.1"):
        async with client_for(app, host=host) as http:
            assert (await http.get("/control", headers=AUTH)).status_code == 200


async def test_no_token_configured_is_503_with_fix() -> None:
    app, _ = build_app(Settings())
    async with client_for(app) as http:
        response = await http.get("/control", headers=AUTH)
    assert response.status_code == 503
    assert "LEITSTAND_CONTROL_TOKEN" in response.json()["detail"]


async def test_served_instance_generates_token_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="leitstand.control")
    app, _ = build_app(Settings(state_path=tmp_path / "state"))
    token_file = tmp_path / "control-token"
    token = token_file.read_text().strip()
    assert len(token) >= 32
    assert token_file.stat().st_mode & 0o777 == 0o600

    async with client_for(app) as http:
        response = await http.get("/control", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert str(token_file) in caplog.text
    assert token not in caplog.text

    # A second app of the same instance (another worker) uses the same file.
    build_app(Settings(state_path=tmp_path / "state"))
    assert token_file.read_text().strip() == token


async def test_token_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    token_file = tmp_path / "control-token"
    token_file.write_text("first-token\n")
    app, _ = build_app(Settings(state_path=tmp_path / "state", control_token_file=token_file))
    async with client_for(app) as http:
        first = {"Authorization": "Bearer first-token"}
        assert (await http.get("/control", headers=first)).status_code == 200

        token_file.write_text("second-token-longer\n")
        assert (await http.get("/control", headers=first)).status_code == 401
        second = {"Authorization": "Bearer second-token-longer"}
        assert (await http.get("/control", headers=second)).status_code == 200

        token_file.unlink()
        missing = await http.get("/control", headers=second)
        assert missing.status_code == 503
        assert str(token_file) in missing.json()["detail"]


def test_invalid_network_names_the_variable() -> None:
    with pytest.raises(ValueError, match="LEITSTAND_CONTROL_ALLOWED_NETWORKS"):
        parse_networks("10.0.0.0/8, not-a-network")
