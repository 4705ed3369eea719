"""report — the pieces behind `fourmi report` (tools/fourmi_report.py): reading run directories
(runs), the scaling table (scaling), per-op and communication summaries (ops, comm), and the
outputs (tables, markdown, charts, trace)."""
