"""compose.yaml and deploy/Caddyfile, read as Compose and Caddy read them (no Docker engine runs on these machines;
issue 20, item 4): PostgreSQL and Redis with healthchecks, `migrate` once before anything else, `set-webhook` after
it, two identical bot replicas in webhook mode, Caddy in front. Every environment name given to the bot is a setting
(bot/settings.py), every secret comes from the operator's environment, and a replica's environment, interpolated as
Compose does, is a configuration the bot accepts."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
import yaml
from aiohttp import web
from pydantic import SecretStr

from bot.runtime.webhook import HEALTH_PATH
from bot.settings import DatabaseSettings, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
CADDYFILE = ROOT / "deploy" / "Caddyfile"

REPLICAS = ("bot-1", "bot-2")
BOT_SERVICES = ("migrate", "set-webhook", *REPLICAS)  # the project's image
# Environment names that are not settings of the bot: each image's own, and what compose.yaml itself reads.
IMAGE_VARIABLES = {
    "postgres": {"POSTGRES_DB", "POSTGRES_USER", "POSTGRES_PASSWORD"},  # the postgres image creates its database
    "proxy": {"PUBLIC_HOST"},  # the Caddyfile's site address ({$PUBLIC_HOST})
}
DEPLOY_VARIABLES = {
    "POSTGRES_PASSWORD": "the database password, put into the postgres service and DATABASE_URL",
    "PUBLIC_HOST": "the public DNS name: Caddy's certificate, WEBHOOK_URL and WEBAPP_URL",
    "PAYBOT_IMAGE": "the bot image's name (default paybot:local, built from the Dockerfile)",
}
# What the operator must set, or `docker compose up` refuses with the variable's message.
REQUIRED = {"BOT_TOKEN", "WEBHOOK_SECRET", "POSTGRES_PASSWORD", "PUBLIC_HOST", "PAYLOV_BASE_URL", "PAYLOV_USERNAME",
            "PAYLOV_PASSWORD", "PAYLOV_CONSUMER_KEY", "PAYLOV_CONSUMER_SECRET"}
SECRETS = {name for name, field in Settings.model_fields.items()
           if field.annotation is SecretStr or SecretStr in get_args(field.annotation)} | {"POSTGRES_PASSWORD"}

# Compose's interpolation: $$ is a dollar; ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error},
# ${NAME:+other}, ${NAME+other}; $NAME.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<dollar>\$)|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


class Missing(Exception):
    """A ${NAME:?…} variable is not set: Compose refuses to start."""


def interpolate(value: str, env: dict[str, str]) -> str:
    def one(match: re.Match) -> str:
        if match["dollar"]:
            return "$"
        name = match["name"] or match["bare"]
        op, arg, current = match["op"], match["arg"] or "", env.get(name)
        unset_or_empty = not current
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else current is None) else current
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else current is None:
                raise Missing(f"{name}: {arg}")
            return current
        if op in (":+", "+"):
            return "" if (unset_or_empty if op == ":+" else current is None) else arg
        return current or ""

    leftover = _INTERPOLATION.sub("", value)
    assert "$" not in leftover, f"{value!r}: a $ that Compose cannot read (write $$ for a dollar)"
    return _INTERPOLATION.sub(one, value)


def variables(value: str) -> list[tuple[str, str | None, str]]:
    """The (name, operator, argument) of each interpolation in a value."""
    return [(m["name"] or m["bare"], m["op"], m["arg"] or "") for m in _INTERPOLATION.finditer(value)
            if not m["dollar"]]


def strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [text for key, value in node.items() for text in strings(key) + strings(value)]
    if isinstance(node, list):
        return [text for item in node for text in strings(item)]
    return []


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict]:
    return compose["services"]


def environment(service: dict) -> dict[str, str]:
    """A service's environment, from either form Compose takes (a mapping, or a list of NAME=value)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(name): "" if value is None else str(value) for name, value in env.items()}


def depends_on(service: dict) -> dict[str, str]:
    """Each service this one waits for, and the condition (a short list means service_started)."""
    needs = service.get("depends_on") or {}
    if isinstance(needs, list):
        return {name: "service_started" for name in needs}
    return {name: (spec or {}).get("condition", "service_started") for name, spec in needs.items()}


def caddy_site() -> tuple[str, dict[str, list[list[str]]]]:
    """The one site's address and its reverse_proxy: upstreams under "", each subdirective's arguments by name."""
    text = "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    [site] = re.findall(r"^(\S+)\s*\{", text, re.MULTILINE)
    block = re.search(r"reverse_proxy\s+([^{\n]*)\{(.*?)\n\s*\}", text, re.DOTALL)
    assert block, "no reverse_proxy block"
    directives: dict[str, list[list[str]]] = {"": [block[1].split()]}
    for line in block[2].splitlines():
        if words := line.split():
            directives.setdefault(words[0], []).append(words[1:])
    return site, directives


# ---- services and their order ----------------------------------------------------------------------------------

def test_the_services_are_there(services):
    assert set(services) == {"postgres", "redis", "migrate", "set-webhook", *REPLICAS, "proxy"}
    assert services["postgres"]["image"] == "postgres:15"
    assert services["redis"]["image"] == "redis:7"
    assert services["proxy"]["image"] == "caddy:2"


def test_migrate_runs_once_before_the_replicas_and_set_webhook(services):
    migrate = services["migrate"]
    assert migrate["command"] == ["python", "-m", "bot", "migrate"]
    assert depends_on(migrate) == {"postgres": "service_healthy"}
    for name in ("set-webhook", *REPLICAS):
        assert depends_on(services[name])["migrate"] == "service_completed_successfully", name
    assert services["set-webhook"]["command"] == ["python", "-m", "bot", "set-webhook"]
    for one_off in ("migrate", "set-webhook"):  # run once: restarted, they would run for ever
        assert services[one_off].get("restart", "no") == "no"


def test_the_replicas_wait_for_a_healthy_database_and_redis(services):
    for name in REPLICAS:
        needs = depends_on(services[name])
        assert needs["postgres"] == "service_healthy" and needs["redis"] == "service_healthy", name
    assert set(depends_on(services["proxy"])) == set(REPLICAS)


def test_the_replicas_are_one_image_and_one_command(services):
    first, *others = (services[name] for name in REPLICAS)
    assert all(other == first for other in others)  # the same in every respect: N copies of one process
    assert first["command"] == ["python", "-m", "bot"]
    assert first["restart"] in ("always", "unless-stopped")
    for name in BOT_SERVICES:  # one image, built from the project's Dockerfile
        assert (services[name]["image"], services[name]["build"]) == (first["image"], "."), name
        assert "entrypoint" not in services[name], f"{name}: the image's entry point (it checks PROVIDERS) is kept"
    assert (ROOT / "Dockerfile").is_file()


def test_a_replica_stops_only_after_its_updates_in_hand_finish(services):
    """SIGTERM drains the updates in hand, each within UPDATE_DEADLINE (always below aiogram's 55 s)."""
    grace = services[REPLICAS[0]]["stop_grace_period"]
    assert re.fullmatch(r"\d+s", grace) and int(grace[:-1]) >= 55


# ---- environment: settings only, secrets from outside -------------------------------------------------------

def test_every_environment_name_given_to_the_bot_is_a_setting(services):
    for name in BOT_SERVICES:
        known = DatabaseSettings.model_fields if name == "migrate" else Settings.model_fields
        unknown = set(environment(services[name])) - set(known)
        assert not unknown, f"{name}: {sorted(unknown)} are not settings of bot/settings.py"
    for name, allowed in IMAGE_VARIABLES.items():
        assert set(environment(services[name])) <= allowed, name
    for name in set(services) - set(BOT_SERVICES) - set(IMAGE_VARIABLES):
        assert not environment(services[name]), f"{name}: an undocumented environment"


def test_a_setting_passed_through_is_read_under_its_own_name(services):
    """`PAYME_KEY: ${PAYSYS_SECRET_KEY}` would be a quiet mix-up: a value that is only one variable is that name."""
    for name in BOT_SERVICES:
        for setting, value in environment(services[name]).items():
            found = variables(value)
            if len(found) == 1 and _INTERPOLATION.fullmatch(value):
                assert found[0][0] == setting, f"{name}: {setting} reads ${{{found[0][0]}}}"


def test_every_variable_compose_reads_is_a_setting_or_a_documented_one(compose):
    read = {name for text in strings(compose) for name, _, _ in variables(text)}
    unknown = read - set(Settings.model_fields) - set(DEPLOY_VARIABLES)
    assert not unknown, f"compose.yaml reads {sorted(unknown)}: neither settings nor documented deploy variables"
    required = {name for text in strings(compose) for name, op, _ in variables(text) if op in (":?", "?")}
    assert required == REQUIRED


def test_no_secret_value_is_written_literally(compose, services):
    for service_name, service in services.items():
        for name, value in environment(service).items():
            if name in SECRETS:
                # only an interpolation, with no fallback value: from the operator's environment or nothing
                assert _INTERPOLATION.fullmatch(value), f"{service_name}: {name} is written in compose.yaml"
                [(_, op, arg)] = variables(value)
                assert op not in ("-", ":+", "+") and not (op == ":-" and arg), f"{service_name}: {name} default"
            password = urlsplit(value).password if "://" in value else None
            if password is not None:
                assert _INTERPOLATION.fullmatch(password) and variables(password)[0][0] in SECRETS, (
                    f"{service_name}: {name} has a password written in it")
    # and no literal secret anywhere else: a value for a secret name only ever comes from an interpolation
    for text in strings(compose):
        for secret in SECRETS:
            assert not re.search(rf"\b{secret}=(?!\$)", text), text


# ---- a replica's environment, interpolated as Compose does ---------------------------------------------------

OPERATOR = {  # what an operator's .env beside compose.yaml holds
    "BOT_TOKEN": "123456:operator-token", "WEBHOOK_SECRET": "operator_webhook_secret", "POSTGRES_PASSWORD": "pw4db",
    "PUBLIC_HOST": "bot.example.uz", "PAYLOV_BASE_URL": "https://gw.paylov.uz", "PAYLOV_USERNAME": "merchant",
    "PAYLOV_PASSWORD": "p", "PAYLOV_CONSUMER_KEY": "k", "PAYLOV_CONSUMER_SECRET": "s",
}


def as_container_sees_it(monkeypatch, tmp_path, service: dict, operator: dict[str, str]) -> None:
    """The process environment of the container: only what compose.yaml gives (no .env inside the image)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in environment(service).items():
        monkeypatch.setenv(name, interpolate(value, operator))


def test_a_replica_runs_in_webhook_mode_on_postgres_and_redis(monkeypatch, tmp_path, services):
    as_container_sees_it(monkeypatch, tmp_path, services["bot-1"], OPERATOR)
    settings = load_settings()  # what `python -m bot` reads: accepted, so the replica starts

    assert settings.webhook_mode and settings.PROVIDERS == "live"
    assert settings.WEBHOOK_URL.startswith("https://bot.example.uz/")
    assert (settings.WEBHOOK_HOST, settings.WEBHOOK_PORT) == ("0.0.0.0", 8080)
    assert settings.WEBHOOK_SECRET.get_secret_value() == OPERATOR["WEBHOOK_SECRET"]
    database = urlsplit(settings.DATABASE_URL)
    postgres = environment(services["postgres"])
    assert database.scheme == "postgresql+asyncpg" and (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password, database.path) == (
        postgres["POSTGRES_USER"], OPERATOR["POSTGRES_PASSWORD"], "/" + postgres["POSTGRES_DB"])
    assert urlsplit(settings.REDIS_URL).hostname == "redis"
    # optional settings left empty are not set: their defaults apply
    assert settings.CARD_VAULT == "paylov" and settings.CASHBACK_PERCENT == 0 and settings.UPDATE_DEADLINE == 20


def test_set_webhook_and_migrate_read_what_they_need(monkeypatch, tmp_path, services):
    replica = environment(services["bot-1"])
    assert environment(services["set-webhook"]) == replica  # registers exactly the address the replicas serve
    as_container_sees_it(monkeypatch, tmp_path, services["set-webhook"], OPERATOR)
    assert load_settings().webhook_mode  # `python -m bot set-webhook` accepts its settings
    as_container_sees_it(monkeypatch, tmp_path, services["migrate"], OPERATOR)
    assert load_settings(DatabaseSettings).DATABASE_URL == interpolate(replica["DATABASE_URL"], OPERATOR)


def test_compose_refuses_to_start_without_a_required_variable(services):
    replica = environment(services["bot-1"])
    for name in sorted(REQUIRED - {"POSTGRES_PASSWORD", "PUBLIC_HOST"}):
        with pytest.raises(Missing, match=name):
            interpolate(replica[name], {k: v for k, v in OPERATOR.items() if k != name})
    with pytest.raises(Missing, match="POSTGRES_PASSWORD"):
        interpolate(replica["DATABASE_URL"], {**OPERATOR, "POSTGRES_PASSWORD": ""})


# ---- healthchecks ----------------------------------------------------------------------------------------------

def test_postgres_redis_and_the_replicas_have_healthchecks(services):
    for name in ("postgres", "redis", *REPLICAS):
        check = services[name].get("healthcheck")
        assert check and not check.get("disable"), name
        assert check["test"][0] in ("CMD", "CMD-SHELL") and {"interval", "timeout", "retries"} <= set(check), name
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def replica_probe(services) -> list[str]:
    test = services[REPLICAS[0]]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and len(test) == 4, "python's urllib: the image has no curl"
    return test[1:]


def test_the_replica_healthcheck_asks_its_own_healthz(services):
    port = int(environment(services[REPLICAS[0]])["WEBHOOK_PORT"])
    assert f"'http://127.0.0.1:{port}{HEALTH_PATH}'" in replica_probe(services)[2]


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
async def test_the_replica_healthcheck_fails_on_a_503(services, status, healthy):
    """The probe itself, run against a server answering /healthz as a replica does when ready, and when stopping."""
    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": healthy}, status=status)

    app = web.Application()
    app.router.add_get(HEALTH_PATH, healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = int(environment(services[REPLICAS[0]])["WEBHOOK_PORT"])
        bound = runner.addresses[0][1]
        python, flag, code = replica_probe(services)
        code = code.replace(f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{bound}/")
        probe = await asyncio.create_subprocess_exec(sys.executable, flag, code, stdout=asyncio.subprocess.DEVNULL,
                                                     stderr=asyncio.subprocess.DEVNULL)
        assert (await probe.wait() == 0) is healthy
    finally:
        await runner.cleanup()


# ---- storage and the proxy -------------------------------------------------------------------------------------

def test_the_database_and_redis_keep_their_data_in_volumes(compose, services):
    declared = set(compose.get("volumes") or {})
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data")):
        mounts = {mount.split(":")[1]: mount.split(":")[0] for mount in services[name]["volumes"]}
        assert mounts.get(path) in declared, f"{name}: {path} is not on a named volume"


def test_only_the_proxy_is_reachable_from_outside(services):
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    ports = {str(port).split(":")[0] for port in services["proxy"]["ports"]}
    assert {"80", "443"} <= ports  # 80 for the ACME challenge and the redirect, 443 for Telegram's posts


def test_the_proxy_sends_posts_to_the_healthy_replicas(services):
    assert f"./{CADDYFILE.relative_to(ROOT)}:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    site, proxy = caddy_site()
    assert site == "{$PUBLIC_HOST}"  # Caddy's automatic HTTPS: a certificate for that name
    assert set(re.findall(r"\{\$(\w+)\}", CADDYFILE.read_text(encoding="utf-8"))) <= set(
        environment(services["proxy"]))
    port = environment(services[REPLICAS[0]])["WEBHOOK_PORT"]
    [upstreams] = proxy[""]
    assert sorted(upstreams) == sorted(f"{name}:{port}" for name in REPLICAS)
    assert proxy["health_uri"] == [[HEALTH_PATH]] and proxy["health_status"] == [["200"]]
    assert "health_interval" in proxy and "lb_try_duration" in proxy
    # WEBHOOK_URL and the card page are on the proxy's name
    replica = environment(services[REPLICAS[0]])
    assert interpolate(replica["WEBHOOK_URL"], OPERATOR).startswith(f"https://{OPERATOR['PUBLIC_HOST']}/")
    assert interpolate(replica["WEBAPP_URL"], OPERATOR) == f"https://{OPERATOR['PUBLIC_HOST']}"


def test_the_healthz_page_is_not_served_to_the_internet():
    text = "\n".join(line.split("#", 1)[0] for line in CADDYFILE.read_text(encoding="utf-8").splitlines())
    assert re.search(rf"^\s*respond\s+{re.escape(HEALTH_PATH)}\s+404\s*$", text, re.MULTILINE)
