"""Commands over the session store: patients, assign, sessions, export, review, replay."""

from __future__ import annotations

from pathlib import Path

import click

from rehab.cli.app import friendly_errors, main

DATA_HELP = "Session store folder (default: $REHAB_DATA or the user data folder)."


def data_option(func):
    return click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
                        help=DATA_HELP)(func)


def _remember_server(ctx: click.Context, _param, value: str | None) -> None:
    ctx.meta["rehab_server"] = value


def store_option(func):
    """--data DIR, or --server URL: the same command on the clinic server (rehab.store.server)."""
    func = click.option("--server", envvar="REHAB_SERVER", expose_value=False,
                        callback=_remember_server,
                        help="Work on the clinic server instead (postgresql://USER@HOST/DB; "
                        "default $REHAB_SERVER; password from $REHAB_SERVER_PASSWORD or "
                        "~/.pgpass).")(func)
    return data_option(func)


def _store(data_dir: Path | None, read_only_ok: bool = False):
    from rehab.store import Store

    ctx = click.get_current_context(silent=True)
    url = ctx.meta.get("rehab_server") if ctx else None
    if url:
        from rehab.store.server import ServerStore, read_password

        return ServerStore(url, read_password(data_dir))
    return Store(data_dir, read_only_ok=read_only_ok)


@main.group()
def patients() -> None:
    """Register and list patients (pseudonymous ids only, never names).

    \b
    Examples:
      rehab patients add P001 --affected left --notes "mild spasticity"
      rehab patients list
    """


@patients.command("add")
@click.argument("patient_id")
@click.option("--affected", type=click.Choice(["left", "right"]), required=True,
              help="The affected (trained) hand.")
@click.option("--notes", default="", help="Free-text clinical notes (no identifying details).")
@click.option("--consent-video", is_flag=True,
              help="The patient consented to raw camera video being stored when a protocol asks.")
@store_option
@friendly_errors
def patients_add(patient_id: str, affected: str, notes: str, consent_video: bool,
                 data_dir: Path | None) -> None:
    """Add a patient.

    \b
    Example:
      rehab patients add P001 --affected left --consent-video
    """
    with _store(data_dir) as store:
        p = store.add_patient(patient_id, affected, notes, consent_video)
        click.echo(f"added patient {p.id} (affected side {p.affected_side}"
                   f"{', video consent' if p.consent_video else ''}) in {store.db_path}")


@patients.command("list")
@store_option
@friendly_errors
def patients_list(data_dir: Path | None) -> None:
    """List patients with their session count.

    \b
    Example:
      rehab patients list --data /path/to/clinic-data
    """
    with _store(data_dir, read_only_ok=True) as store:
        rows = store.list_patients()
        if not rows:
            click.echo("no patients yet (rehab patients add ID --affected left|right)", err=True)
        counts: dict[str, int] = {}
        for s in store.sessions():
            counts[s.patient_id] = counts.get(s.patient_id, 0) + 1
        for p in rows:
            video = "video consent" if p.consent_video else "no video"
            click.echo(f"{p.id:<12} {p.affected_side:<5} {counts.get(p.id, 0):>4} sessions  "
                       f"{video:<13} {p.notes}")


@main.command()
@click.argument("patient_id")
@click.argument("protocol", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--per-week", type=int, required=True, help="Sessions a week.")
@store_option
@friendly_errors
def assign(patient_id: str, protocol: Path, per_week: int, data_dir: Path | None) -> None:
    """Assign a protocol to a patient, N sessions a week (replaces their earlier one).

    PROTOCOL is a protocol file, or the name of a shipped one (home_session).

    \b
    Examples:
      rehab assign P001 protocols/home_session.yaml --per-week 5
      rehab assign P002 home_session --per-week 3
    """
    from rehab.protocol.loader import load_protocol
    from rehab.store.db import resolve_protocol_path

    path = resolve_protocol_path(protocol)
    if path.is_file():
        load_protocol(path)  # never assign a protocol that cannot run (ProtocolError lists why)
    with _store(data_dir) as store:
        a = store.assign(patient_id, path, per_week)
        click.echo(f"{patient_id}: {a.protocol_name} {a.per_week}x per week from {a.from_date} "
                   f"(sha256 {a.protocol_sha256[:12]})")


@main.command()
@click.option("--patient", "patient_id", required=True, help="Patient id.")
@store_option
@friendly_errors
def sessions(patient_id: str, data_dir: Path | None) -> None:
    """One line per session: date, protocol, status, duration, headline scores.

    \b
    Example:
      rehab sessions --patient P001
    """
    from rehab.report.export import export_both

    with _store(data_dir, read_only_ok=True) as store:
        store.require_patient(patient_id)
        trials, df = export_both(store, patient_id)
    if df.empty:
        click.echo(f"no sessions recorded for {patient_id}", err=True)
    per_session: dict[str, list[str]] = {}
    for (sid, task), n in trials.groupby(["session_id", "task"], sort=False)["repetitions"].sum().items():
        per_session.setdefault(sid, []).append(f"{task} {int(n)} rep{'' if int(n) == 1 else 's'}")
    for _, r in df.iterrows():
        click.echo(_session_line(r, ", ".join(per_session.get(r["session_id"], []))))


def _session_line(r, tasks: str) -> str:
    """date  id  protocol  status  duration  per-task repetitions  pain first->last."""
    dur = "      -  " if r["duration_s"] != r["duration_s"] else f"{r['duration_s'] / 60:5.1f} min"
    name = r["protocol_name"]
    name = name if len(name) <= 24 else name[:21] + "..."  # a cut name must look cut
    line = (f"{r['session_start'].replace('T', ' ')}  {r['session_id']}  {name:<24} "
            f"{r['session_status']:<11} {dur}  {tasks or 'no trials'}")
    if "pain_first" in r and str(r["pain_first"]) not in ("<NA>", "nan", "None"):
        line += f"; pain {r['pain_first']}->{r['pain_last']}"
    status = r["session_status"]
    if status not in ("completed", "running"):  # why it ended early, and whether it resumes
        line += f"; {r.get('end_detail') or 'reason not recorded'}"
    if isinstance(r.get("resumed_from"), str):
        line += f" (resumes {r['resumed_from']})"
    return line


@main.command()
@click.option("--patient", "patient_id", help="Patient id.")
@click.option("--all", "all_patients", is_flag=True, help="Every patient.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="CSV file to write (owner-only); default: standard output.")
@click.option("--summary", is_flag=True, help="One row per session instead of one per trial.")
@click.option("--columns", "describe", is_flag=True,
              help="Print what each metric column means (label, unit, better) and exit.")
@click.option("--dose", is_flag=True, help="One row per observe or imagine step: seconds of "
                                           "demonstration shown (AO) and imagined (MI).")
@store_option
@friendly_errors
def export(patient_id: str | None, all_patients: bool, out: Path | None, summary: bool,
           describe: bool, dose: bool, data_dir: Path | None) -> None:
    """Export trials (or sessions) as a tidy CSV; columns are listed in the README.

    \b
    Examples:
      rehab export --patient P001 --out p001.csv
      rehab export --all --summary --out sessions.csv
      rehab export --patient P001 --dose --out p001-dose.csv
      rehab export --columns
    """
    from rehab.errors import RehabError
    from rehab.report.export import export_sessions, export_trials, metric_columns, write_csv

    if describe:
        df = metric_columns()
    elif bool(patient_id) == all_patients:
        raise click.UsageError("give either --patient ID or --all")
    elif summary and dose:
        raise click.UsageError("give --summary or --dose, not both (--summary has the dose totals)")
    else:
        with _store(data_dir, read_only_ok=True) as store:
            if patient_id:
                store.require_patient(patient_id)
            if dose:
                from rehab.report.dose import load_doses, steps_table

                df = steps_table(load_doses(store, patient_id))
            else:
                df = (export_sessions if summary else export_trials)(store, patient_id)
    who = patient_id or "any patient"
    if df.empty:
        what = "sessions" if summary else "observe or imagine steps" if dose else "trials"
        click.echo(f"no {what} recorded for {who}: "
                   "the CSV has the header only", err=True)
    try:
        write_csv(df, out)
    except OSError as exc:
        raise RehabError(f"cannot write {out or 'standard output'}: {exc.strerror or exc}",
                         hint="choose a folder you can write to") from exc
    if out:
        click.echo(f"wrote {len(df)} rows to {out}", err=True)


@main.command()
@click.option("--patient", "patient_id", help="Patient id.")
@click.option("--all", "all_patients", is_flag=True,
              help="Clinic overview of every patient (adherence, safety stops, last sync).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: review-ID.html; with --all: only when given).")
@store_option
@friendly_errors
def review(patient_id: str | None, all_patients: bool, out: Path | None,
           data_dir: Path | None) -> None:
    """Write a self-contained HTML review report (open it in any browser), or with --all
    list every patient: sessions done/assigned this week and the last four, who is falling
    behind, safety stops, invalid trials, last sync.

    \b
    Examples:
      rehab review --patient P001 --out p001.html
      rehab review --all --server postgresql://dr_smith@db.clinic/rehab
    """
    from rehab.errors import RehabError
    from rehab.report.review import write_review

    if bool(patient_id) == all_patients:
        raise click.UsageError("give either --patient ID or --all")
    if all_patients:
        return _clinic_overview(data_dir, out)
    assert patient_id is not None
    target = out or Path(f"review-{patient_id}.html")
    with _store(data_dir, read_only_ok=True) as store:
        try:
            path = write_review(store, patient_id, target)
        except OSError as exc:
            raise RehabError(f"cannot write {target}: {exc.strerror or exc}",
                             hint="choose a folder you can write to") from exc
    click.echo(f"wrote {path}")


def _clinic_overview(data_dir: Path | None, out: Path | None) -> None:
    from rehab.report.clinic import clinic_overview, overview_html, overview_lines
    from rehab.store.secure import open_private

    with _store(data_dir) as store:
        rows = clinic_overview(store)
        on_server = store.engine.dialect.name == "postgresql"
    for line in overview_lines(rows, on_server):
        click.echo(line)
    if out:
        with open_private(out) as fh:
            fh.write(overview_html(rows, on_server))
        click.echo(f"wrote {out}", err=True)


@main.command()
@click.argument("session_id")
@click.option("--trial", "trial_no", type=int, default=1, show_default=True,
              help="Trial number within the session (see rehab export).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an MP4 instead of opening a window.")
@click.option("--loop", is_flag=True, help="Repeat until ESC (window only).")
@store_option
@friendly_errors
def replay(session_id: str, trial_no: int, out: Path | None, loop: bool,
           data_dir: Path | None) -> None:
    """Replay a stored trial's hand landmarks as an animated skeleton.

    \b
    Examples:
      rehab replay 3f2a9c0d1e2b4a5c --trial 2
      rehab replay 3f2a9c0d1e2b4a5c --out trial1.mp4
    """
    from rehab.report.replay import load_trial, play, write_mp4

    with _store(data_dir, read_only_ok=True) as store:
        trial = load_trial(store, session_id, trial_no)
    if out:
        n = write_mp4(trial, out)
        click.echo(f"wrote {n} frames to {out}")
    else:
        play(trial, loop=loop)
