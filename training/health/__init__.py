"""Data health: likely label errors, duplicates and split leakage, balance and outliers.

    from training.health import check_health
    report = check_health("path/to/data", run_dir=RUN_DIR)   # plain data, see report.py
"""
from .report import SCHEMA_VERSION, check_health, print_report

__all__ = ["SCHEMA_VERSION", "check_health", "print_report"]
