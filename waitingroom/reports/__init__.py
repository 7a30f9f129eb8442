"""Reports (/reports/): a clinic admin's figures for a period, drawn as SVG charts with the table
behind each and a CSV download. The clinic core holds the page and its plumbing; each app adds its
sections through settings.REPORT_SECTIONS (docs/architecture.md, "Reports")."""
