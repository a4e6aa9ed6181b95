"""``convcli report``: one self-contained HTML page that points at a layer's sums.

:func:`build_report` lays out a run's result (:mod:`convcli.report.model`: the header, every input
channel, each reported filter's partial maps, bias, pre-activation and output, block-reduced to their
panels) with the exact numbers it holds (:mod:`convcli.report.held`, within a budget), so that its
script (``report.js``) traces any output position as ``convcli run --trace ROW,COL`` does.
"""

from convcli.report.held import DATA_BUDGET
from convcli.report.page import build_report

__all__ = ["DATA_BUDGET", "build_report"]
