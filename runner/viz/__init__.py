"""Pictures: charts rendered server-side to inline SVG, and the backtest HTML report.

Used by the dashboard (``runner.web``) and by ``runner backtest --report``. matplotlib is
imported only when a chart is drawn, so read commands never pay for it.
"""
