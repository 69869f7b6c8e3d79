"""Reports over the store: tidy CSV export, the HTML review report, and landmark replay.

Public API::

    from rehab.report.export import export_trials, export_sessions, write_csv
    from rehab.report.review import build_review, write_review
    from rehab.report.replay import load_trial, play, write_mp4
"""
