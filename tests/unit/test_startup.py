"""Start-up pieces in-process: list settings, the start-up line's wording, the outage log's rate (issue 18, item 1)."""

from __future__ import annotations

import logging

import pytest

from bot.settings import Settings, SettingsError, load_settings


@pytest.fixture
def load(monkeypatch, tmp_path):
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return load_settings


@pytest.mark.parametrize("value", ["10,30", " 10 , 30 ", "[10, 30]", "[10,30]"])
def test_interval_lists_are_a_comma_list_or_json(load, value):
    assert load(BOT_TOKEN="1:x", STATUS_CHECK_INTERVALS=value).STATUS_CHECK_INTERVALS == (10, 30)


@pytest.mark.parametrize("value, says", [("10,x", "item 2"), ("[10,", "JSON list"), ("0,5", "item 1"), ("", "")])
def test_a_bad_interval_list_is_one_line(load, value, says, monkeypatch):
    monkeypatch.setenv("STATUS_CHECK_INTERVALS", value)  # as the environment gives it (empty: the default)
    if not value:
        assert load(BOT_TOKEN="1:x").STATUS_CHECK_INTERVALS == (10, 30, 60, 300, 900, 3600)
        return
    with pytest.raises(SettingsError) as raised:
        load(BOT_TOKEN="1:x")
    assert str(raised.value).startswith("setting STATUS_CHECK_INTERVALS is invalid") and says in str(raised.value)
    assert "\n" not in str(raised.value)


def test_operator_ids_still_take_both_forms(load, monkeypatch):
    monkeypatch.setenv("OPERATOR_IDS", "1,2")
    assert load(BOT_TOKEN="1:x").OPERATOR_IDS == (1, 2)
    monkeypatch.setenv("OPERATOR_IDS", "[1, 2]")
    assert load(BOT_TOKEN="1:x").OPERATOR_IDS == (1, 2)


@pytest.mark.parametrize("url, says", [
    ("foo", "not a database URL"),
    ("mysql+aiomysql://u:secret@h/db", "'mysql+aiomysql' is not supported"),
    ("sqlite:///x.db", "'sqlite' is not supported"),
])
def test_database_urls_are_checked_before_connecting(url, says):
    from bot.runtime.startup import StartupError, check_database_url

    with pytest.raises(StartupError) as raised:
        check_database_url(url)
    assert says in str(raised.value) and "secret" not in str(raised.value)
    assert isinstance(raised.value, SettingsError)  # python -m bot turns it into exit code 2


def test_outages_are_logged_once_a_minute(caplog):
    from handlers.errors import OutageLog

    now = [100.0]
    log = OutageLog(every=60, clock=lambda: now[0])
    error = ConnectionRefusedError(111, "Connection refused")
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        assert log.report("database", error)
        now[0] += 30
        assert not log.report("database", error) and not log.report("database", error)
        assert log.report("redis", error)  # another kind has its own minute
        now[0] += 31
        assert log.report("database", error)
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("database unavailable (ConnectionRefusedError)")
    assert "(2 more updates since the last line)" in lines[2]


def test_outage_kinds():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from sqlalchemy.exc import IntegrityError, OperationalError

    from handlers.errors import outage_kind

    assert outage_kind(OperationalError("SELECT 1", {}, Exception("gone"))) == "database"
    assert outage_kind(RedisConnectionError("refused")) == "redis"
    assert outage_kind(IntegrityError("INSERT", {}, Exception("dup"))) is None  # a bug, traced as before
    assert outage_kind(ConnectionRefusedError(111, "refused")) is None  # not raised inside a database driver
    assert outage_kind(ValueError("x")) is None
