"""tables.py — the machine-readable outputs: report.csv (the scaling table, one row per run) and
report.json (the same rows plus, per run, the top ops, the aggregated collectives and the names
of the charts and trace written for it)."""
import csv
import json

from .scaling import COLUMNS

REPORT_SCHEMA = "fourmi.report/1"


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([col for _, col, _, _ in COLUMNS])
        for row in rows:
            w.writerow(["" if row[key] is None else (f"{row[key]:.6g}" if isinstance(row[key], float) else row[key])
                        for key, _, _, _ in COLUMNS])


def write_json(path, title, mode, rows, details):
    """details: one dict per run (same order as rows), from fourmi_report.run_details."""
    doc = {"schema": REPORT_SCHEMA, "title": title, "mode": mode,
           "columns": [col for _, col, _, _ in COLUMNS],
           "rows": [{col: row[key] for key, col, _, _ in COLUMNS} for row in rows],
           "runs": details}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
