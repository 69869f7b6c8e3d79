"""Commands for the clinic server: ``rehab server ...`` (admin), ``rehab config``, ``rehab sync``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main
from rehab.cli.store_cmds import data_option

SERVER_HELP = ("Clinic server URL, postgresql://USER@HOST:PORT/DB (default: $REHAB_SERVER); "
               "the password comes from $REHAB_SERVER_PASSWORD, ~/.pgpass or PGPASSWORD, "
               "never from the command line.")


def _admin_engine(url: str | None):
    from rehab.errors import StoreError
    from rehab.store.server import server_engine

    if not url:
        raise StoreError("no server given", hint="--server postgresql://ADMIN@HOST:PORT/DB")
    return server_engine(url)


def _guard(url: str, fn):
    """Run ``fn()``; a database error becomes a StoreError naming the redacted URL."""
    import sqlalchemy as sa

    from rehab.store.server import server_error

    try:
        return fn()
    except sa.exc.DBAPIError as exc:
        raise server_error(url, exc) from exc


@main.group()
def server() -> None:
    """Set up the clinic's PostgreSQL server (admin): schema, laptop and clinician logins.

    \b
    Examples:
      REHAB_SERVER_PASSWORD=... rehab server init --server postgresql://admin@db.clinic:5432/rehab
      rehab server add-laptop P001 --affected left --server postgresql://admin@db.clinic/rehab
      rehab server add-clinician dr_smith --site main --server postgresql://admin@db.clinic/rehab
    """


def server_option(func):
    return click.option("--server", "url", envvar="REHAB_SERVER", help=SERVER_HELP)(func)


@server.command("init")
@server_option
@friendly_errors
def server_init(url: str | None) -> None:
    """Create (or upgrade) the server's tables, roles and row-level security policies.

    \b
    Example:
      rehab server init --server postgresql://admin@127.0.0.1:5432/rehab
    """
    from rehab.store.server import redact
    from rehab.store.server_schema import group_roles, init_server

    engine = _admin_engine(url)
    assert url is not None
    version, laptop = _guard(url, lambda: init_server(engine))
    db = engine.url.database or ""
    click.echo(f"{redact(url)}: server schema version {version} (laptop schema {laptop}); "
               f"roles {', '.join(group_roles(db))}")


@server.command("add-laptop")
@click.argument("patient_id")
@click.option("--affected", type=click.Choice(["left", "right"]),
              help="Register the patient on the server too (when they are not there yet).")
@click.option("--site", default="main", show_default=True, help="The patient's clinic site.")
@server_option
@friendly_errors
def server_add_laptop(patient_id: str, affected: str | None, site: str, url: str | None) -> None:
    """Create the login of PATIENT's home laptop; prints its password once (keep it safe).

    \b
    Example:
      rehab server add-laptop P001 --affected left --server postgresql://admin@db/rehab
    """
    from rehab.store.server import add_laptop, role_url

    engine = _admin_engine(url)
    assert url is not None
    role, password = _guard(url, lambda: add_laptop(engine, patient_id, affected, site))
    _print_login(role, role_url(url, role), password)
    click.echo("on the laptop:\n"
               f"  rehab config set server {role_url(url, role)}\n"
               "  rehab config set password        (paste the password when asked)\n"
               "  rehab sync")


def _print_login(role: str, url: str, password: str) -> None:
    click.echo(f"login:    {role}\nserver:   {url}\npassword: {password}\n"
               "(shown once: the server keeps only a hash of it)")


@server.command("add-clinician")
@click.argument("name")
@click.option("--site", default="main", show_default=True, help="The site whose patients they see.")
@server_option
@friendly_errors
def server_add_clinician(name: str, site: str, url: str | None) -> None:
    """Create a clinician login that reads and assigns for one site; prints its password once.

    \b
    Example:
      rehab server add-clinician dr_smith --site main --server postgresql://admin@db/rehab
    """
    from rehab.store.server import add_clinician, role_url

    engine = _admin_engine(url)
    assert url is not None
    role, password = _guard(url, lambda: add_clinician(engine, name, site))
    _print_login(role, role_url(url, role), password)


@server.command("remove-laptop")
@click.argument("patient_id")
@server_option
@friendly_errors
def server_remove_laptop(patient_id: str, url: str | None) -> None:
    """Revoke a laptop's login (its sessions stay on the server).

    \b
    Example:
      rehab server remove-laptop P001 --server postgresql://admin@db/rehab
    """
    from rehab.store.server import remove_laptop

    engine = _admin_engine(url)
    assert url is not None
    role = _guard(url, lambda: remove_laptop(engine, patient_id))
    click.echo(f"removed login {role} of {patient_id}")


@main.group()
def config() -> None:
    """This laptop's settings: the clinic server to sync with and its password.

    \b
    Examples:
      rehab config set server postgresql://rehab_l_P001@db.clinic:5432/rehab?sslmode=verify-full
      rehab config set password
      rehab config show
    """


@config.command("set")
@click.argument("key", type=click.Choice(["server", "password"]))
@click.argument("value", required=False)
@data_option
@friendly_errors
def config_set(key: str, value: str | None, data_dir: Path | None) -> None:
    """Set the server URL, or the password (asked for, or read from standard input: never
    give it on the command line, where `ps` shows it).

    \b
    Examples:
      rehab config set server postgresql://rehab_l_P001@db.clinic:5432/rehab
      rehab config set password < password.txt
    """
    from rehab.errors import RehabError
    from rehab.store.server import load_config, parse_url, redact, save_config, write_password

    if key == "password":
        if value is not None:
            raise RehabError("the password is not taken from the command line (ps shows it)",
                             hint="run: rehab config set password   and type it when asked")
        secret = (click.prompt("password", hide_input=True) if sys.stdin.isatty()
                  else sys.stdin.readline()).strip()
        if not secret:
            raise RehabError("no password given")
        click.echo(f"saved the password in {write_password(data_dir, secret)} (owner-only)")
        return
    if not value:
        raise RehabError("give the server URL", hint="rehab config set server postgresql://...")
    u = parse_url(value)
    if u.password:
        raise RehabError("the URL holds a password: it would be stored in plain sight",
                         hint="give the URL without it, then: rehab config set password")
    cfg = load_config(data_dir)
    cfg["server"] = redact(u)
    path = save_config(data_dir, cfg)
    click.echo(f"server {cfg['server']} saved in {path}")


@config.command("show")
@data_option
@friendly_errors
def config_show(data_dir: Path | None) -> None:
    """Show this laptop's settings (never the password).

    \b
    Example:
      rehab config show
    """
    from rehab.store.server import load_config, password_file, redact

    cfg = load_config(data_dir)
    click.echo(f"server:   {redact(cfg['server']) if cfg.get('server') else '(not set)'}")
    click.echo(f"password: {'saved' if password_file(data_dir).is_file() else '(not saved)'}")


@main.command("sync")
@click.option("--server", "url", help="Clinic server URL (default: rehab config set server).")
@data_option
@friendly_errors
def sync_cmd(url: str | None, data_dir: Path | None) -> None:
    """Send this laptop's sessions to the clinic server, fetch the clinic's assignments.

    Safe to run any time and again after a cut connection: each session is sent whole, once.

    \b
    Examples:
      rehab sync
      rehab sync --server postgresql://rehab_l_P001@db.clinic:5432/rehab
    """
    from rehab.errors import StoreError
    from rehab.store import Store
    from rehab.store.server import configured_server, read_password, redact, server_engine
    from rehab.store.sync import sync

    url = url or configured_server(data_dir)
    if not url:
        raise StoreError("no clinic server set up on this laptop",
                         hint="rehab config set server postgresql://USER@HOST:PORT/DB")
    password = read_password(data_dir)
    engine = server_engine(url, password)
    bar = None
    try:
        with Store(data_dir) as store:
            def progress(done: int, total: int) -> None:
                nonlocal bar
                if bar is None and total > 1:
                    bar = click.progressbar(length=total, label="sending sessions",
                                            file=sys.stderr)
                    bar.__enter__()
                if bar is not None:
                    bar.update(1)

            result = sync(store, engine, url, password, progress)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
        engine.dispose()
    click.echo(result.summary(redact(url)))
