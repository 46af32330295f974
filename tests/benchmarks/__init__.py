"""The benchmark report (bench/report.py), without running any benchmark."""
