"""`plugins.ml_commons.*` settings that change what the simulated ml-commons does."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class MlCommonsSettings:
    """Mutable: `PUT _cluster/settings` changes them while the cluster runs."""

    allow_custom_deployment_plan: bool = False
    remote_inference_enabled: bool = True
    only_run_on_ml_node: bool = True
    sync_up_job_interval_in_seconds: float = 10.0
    max_model_on_node: int = 10
    max_deploy_model_tasks_per_node: int = 10
    max_register_model_tasks_per_node: int = 10
    model_auto_deploy_enable: bool = True
    model_auto_redeploy_enable: bool = True
    model_auto_redeploy_lifetime_retry_times: int = 3
    model_auto_redeploy_success_ratio: float = 0.8
    jvm_heap_memory_threshold: int = 85
    native_memory_threshold: int = 90
    safe_delete_model: bool = False
    #: Simulated seconds a remote connector takes to answer (the simulator's own knob).
    remote_latency_seconds: float = 0.2
    #: Bytes per simulated second a model's chunks are downloaded and stored at register.
    register_bandwidth_bytes_per_second: float = 100_000_000.0
