"""The forecast page (issue 16, item 3): managers only, aggregates only."""

from django.shortcuts import render

from metrics.forecast.selectors import MODEL_STATEMENT, WhatIfForm, forecast
from metrics.selectors import month_label
from metrics.views import DashboardPermissionView


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f}%"


class ForecastView(DashboardPermissionView):
    """When the enrollment rate reaches its target at this pace, and with a what-if."""

    template_name = "metrics/forecast.html"

    def get(self, request):
        form = WhatIfForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            context = {"form": form, "model_statement": MODEL_STATEMENT, "data": None}
            return render(request, self.template_name, context, status=400)
        what_if = form.what_if() if form.is_bound else None
        data = forecast(what_if=what_if)
        context = {"form": form, "model_statement": MODEL_STATEMENT, "data": data}
        if data is not None:
            asked = data["what_if"]
            context.update(
                {
                    "start_label": month_label(data["start_month"]),
                    "start_rate": _percent(data["start_rate"]),
                    "target": _percent(data["target"]),
                    "history": data["history"],
                    "history_first": month_label(data["history"].first_month),
                    "history_last": month_label(data["history"].last_month),
                    "pace_rates": {
                        key: _percent(data["pace"][key])
                        for key in ("offer_rate", "acceptance", "activation")
                    },
                    "pace_reached": _reached(data["pace"]),
                    "what_if_reached": _reached(asked) if asked else None,
                    "what_if_rates": {
                        key: _percent(asked[key]) for key in ("offer_rate", "acceptance")
                    }
                    if asked
                    else None,
                    "rows": [
                        {
                            "month": month_label(month),
                            "pace": _percent(rate),
                            "what_if": _percent(asked["rates"][index]) if asked else None,
                        }
                        for index, (month, rate) in enumerate(
                            zip(data["pace"]["months"], data["pace"]["rates"], strict=True)
                        )
                    ],
                }
            )
        return render(request, self.template_name, context)


def _reached(run: dict) -> str | None:
    return month_label(run["reaches_target"]) if run["reaches_target"] else None
