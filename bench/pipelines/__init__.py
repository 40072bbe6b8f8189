"""The pipelines pass of `make bench` (being split into modules: see latency.py)."""

from bench.pipelines.latency import (
    PipelinesReport,
    check_pipelines,
    main,
    pipelines_pass,
    render_pipelines,
)

__all__ = ["PipelinesReport", "check_pipelines", "main", "pipelines_pass", "render_pipelines"]
