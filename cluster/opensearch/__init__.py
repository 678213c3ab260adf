"""OpenSearch ml-commons on the simulated cluster: model groups, connectors, models, tasks,
deploy/undeploy on the same ML nodes as Elasticsearch deployments, and predict with the
update-model features (enable flag, rate limits, guardrails, interfaces).

`MlCommons` (service.py) is the facade; no HTTP here.
"""
