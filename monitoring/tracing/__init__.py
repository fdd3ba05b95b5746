"""OpenTelemetry traces of executions (off unless an OTLP endpoint is set; see ``provider``).

One trace per execution, its id the execution's id: a span for the execution and one per node
attempt, made from the event log as each ends (``spans``), so spans of a run whose nodes ran in
several processes agree without those processes talking; a span per request (``middleware``)
reads the caller's W3C ``traceparent``, and the span that started a run is linked both ways with
the run's trace; ``http`` and ``llm`` nodes send their attempt's ``traceparent`` (``ids``).
"""
