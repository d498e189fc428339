"""Prometheus text format: the renderer's rules, and the metrics a running server exposes."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from lifelong.serving.metrics import Counter, Gauge, Histogram, ServerMetrics


def test_counter_renders_help_type_and_escaped_labels() -> None:
    counter = Counter("hits_total", "Hits.", ("route",))
    counter.inc('/a"b')
    counter.inc('/a"b', amount=2)
    assert counter.render() == [
        "# HELP hits_total Hits.",
        "# TYPE hits_total counter",
        'hits_total{route="/a\\"b"} 3',
    ]
    with pytest.raises(ValueError, match=r"hits_total takes labels \('route',\)"):
        counter.inc()


def test_histogram_buckets_are_cumulative_with_inf_sum_and_count() -> None:
    histogram = Histogram("lat", "Latency.", buckets=(0.1, 1.0))
    for value in (0.05, 0.1, 0.5, 5.0):
        histogram.observe(value)
    assert histogram.render()[2:] == [
        'lat_bucket{le="0.1"} 2',
        'lat_bucket{le="1"} 3',
        'lat_bucket{le="+Inf"} 4',
        "lat_sum 5.65",
        "lat_count 4",
    ]


def test_histogram_observe_many_equals_observing_each() -> None:
    values = [0.05, 0.1, 0.5, 5.0, 0.3]
    one_by_one = Histogram("conf", "Confidence.", ("role",), buckets=(0.1, 1.0))
    for value in values:
        one_by_one.observe(value, "primary")
    batched = Histogram("conf", "Confidence.", ("role",), buckets=(0.1, 1.0))
    batched.observe_many(values[:2], "primary")
    batched.observe_many(values[2:], "primary")
    batched.observe_many([], "shadow")  # like observing nothing: no series
    assert batched.render() == one_by_one.render()
    with pytest.raises(ValueError, match="takes labels"):
        batched.observe_many([0.5])


def test_gauge_replace_drops_old_series() -> None:
    gauge = Gauge("info", "Info.", ("version",))
    gauge.replace({("1.0",): 1.0})
    gauge.replace({("2.0",): 1.0})
    assert gauge.render()[2:] == ['info{version="2.0"} 1']


def test_server_metrics_after_requests(client: TestClient) -> None:
    client.post("/predict", json={"text": "play music"})
    client.post("/predict", json={"text": ""})
    client.get("/nope")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    assert 'lifelong_requests_total{route="/predict",status="200"} 1' in text
    assert 'lifelong_requests_total{route="/predict",status="422"} 1' in text
    assert 'lifelong_requests_total{route="unmatched",status="404"} 1' in text
    assert 'lifelong_request_seconds_bucket{route="/predict",le="+Inf"} 2' in text
    assert 'lifelong_model_info{role="primary",version="1.0"} 1' in text
    assert 'lifelong_prediction_confidence_count{role="primary"} 1' in text
    assert 'lifelong_model_loads_total{role="primary",result="ok"} 1' in text
    # every non-comment line is `name{labels} value`
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="[^"]*",?)+\})? [-+0-9.eInf]+$')
    for line in text.splitlines():
        assert line.startswith("# ") or sample.match(line), line
    assert ServerMetrics().render().endswith("\n")


def test_bodies_refused_before_routing_count_under_their_route(client: TestClient) -> None:
    """The body guard answers 413 and 400 before FastAPI routes the request; the counts still
    name the route the request was sent to, and only a path no route takes is unmatched."""
    client.post("/predict", content=b'{"text": "' + b"a" * 2_000_000 + b'"}')
    client.post("/feedback", content=b'{"text": "caf\xe9"}')
    client.post("/admin/promote", content=b"\xff")
    client.post("/nowhere", content=b"\xff")
    client.get("/openapi.json")  # one of Starlette's own routes, which leave no route in scope
    client.delete("/predict")  # a route's path with another method: routing's 405
    text = client.get("/metrics").text
    assert 'lifelong_requests_total{route="/predict",status="413"} 1' in text
    assert 'lifelong_requests_total{route="/feedback",status="400"} 1' in text
    assert 'lifelong_requests_total{route="/admin/promote",status="400"} 1' in text
    assert 'lifelong_requests_total{route="unmatched",status="400"} 1' in text
    assert 'lifelong_requests_total{route="/openapi.json",status="200"} 1' in text
    assert 'lifelong_requests_total{route="/predict",status="405"} 1' in text
    assert 'lifelong_request_seconds_count{route="/predict"} 2' in text
