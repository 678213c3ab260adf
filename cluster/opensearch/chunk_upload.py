"""Registering a local model from a file the client uploads in chunks, as ml-commons does it
(`TransportRegisterModelMetaAction`, `MLModelChunkUploader`).

- `POST /models/_register_meta` (or `/models/meta`) creates the model document at once in
  REGISTERING state with the meta the client sent (`total_chunks`, the content hash and size,
  `model_config`, ...) in the group named or found by name or created, and answers
  `{"model_id", "status": "CREATED"}`: no task.
- `POST /models/{id}/upload_chunk/{n}` (or `/chunk/{n}`) stores chunk `n` as the document
  `{id}_{n}` and answers `{"status": "Uploaded"}`. The chunk that is numbered last (`n + 1 ==
  total_chunks`) turns the model REGISTERED, whatever chunks came before: ml-commons then
  re-indexes the model from a few of its fields only (name, algorithm, version, group, format,
  config, chunks, hash, size, created time), so the rest of the meta is gone, as there.

Both need `allow_registering_model_via_local_file` (off by default). The chunks keep no
`content` (mlsim simulates sizes, not bytes), so a deploy does not check the content hash.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Mapping

from . import xcontent
from .errors import MlError, caller_error, illegal_argument, os_status
from .ids import new_document_id
from .local_models import CHUNK_SIZE
from .models import chunk_id, present
from .register_input import CONFIG_OPTIONAL, RegisterInput, parse_register_input
from .settings import PREFIX, field_less_value

if TYPE_CHECKING:
    from .service import MlCommons

LOCAL_FILE_DISABLED = (
    "To upload custom model from local file, user needs to enable allow_registering_model_via_local_file "
    "settings. Otherwise please use opensearch pre-trained models"
)
#: Fields `MLRegisterModelMetaInput` does not read (the register API's): skipped as unknown.
_NOT_META = ("url", "connector", "connector_id", "guardrails", "model_node_ids")
#: The fields of the model document ml-commons indexes when the last chunk arrives.
_REGISTERED_FIELDS = ("name", "algorithm", "model_version", "model_group_id", "model_format", "model_config",
                      "total_chunks", "model_content_hash_value", "model_content_size_in_bytes", "created_time")
_JAVA_INT = re.compile(r"[+-]?[0-9]+")


def require_local_file_upload(ml: MlCommons, chunk: bool) -> None:
    """The REST handlers' setting check (the chunk handler's message ends with a period)."""
    if not field_less_value(ml.settings, PREFIX + "allow_registering_model_via_local_file"):
        raise illegal_argument(LOCAL_FILE_DISABLED + ("." if chunk else ""))


def parse_meta_input(body: Mapping[str, Any], text: str | None = None) -> tuple[RegisterInput, int]:
    """`MLRegisterModelMetaInput`: the register body's fields and kinds, then its constructor's
    checks (name, format, content hash, config unless sparse, total chunks)."""
    spec = parse_register_input({k: v for k, v in body.items() if k not in _NOT_META}, dict, text)
    total_chunks = xcontent.integer(body, "total_chunks")
    if spec.model_format is None:
        raise illegal_argument("model format is null")
    if spec.hash_value is None:
        raise illegal_argument("model content hash value is null")
    if spec.model_config is None and spec.function_name not in CONFIG_OPTIONAL:
        raise illegal_argument("model config is null")
    if total_chunks is None:
        raise illegal_argument("total chunks field is null")
    return spec, total_chunks


def register_meta(ml: MlCommons, body: Mapping[str, Any] | None, text: str | None = None) -> dict[str, Any]:
    """`POST /models/_register_meta`, after the handler's setting check; returns the answer."""
    if body is None:
        raise caller_error("i_o_exception", "Model meta request has empty body")
    spec, total_chunks = parse_meta_input(body, text)
    group_id = spec.model_group_id or ml.groups.find_by_name(spec.name)
    if group_id is None:
        group_id = ml.groups.create(spec.name, spec.description, spec.access_mode, spec.add_all_backend_roles,
                                    spec.backend_roles)
    elif ml.groups.get(group_id) is None:
        raise os_status(404, "Fail to find model group")
    version = ml.groups.bump_version(group_id)
    now = ml.clock.millis()
    doc = {
        "name": spec.name, "model_group_id": group_id, "algorithm": spec.function_name,
        "model_version": str(version), "description": spec.description, "model_format": spec.model_format,
        "model_state": "REGISTERING", "model_content_size_in_bytes": spec.size_bytes,
        "model_content_hash_value": spec.hash_value, "model_config": spec.model_config,
        "deploy_setting": spec.deploy_setting, "is_enabled": spec.is_enabled, "rate_limiter": spec.rate_limiter,
        "created_time": now, "last_updated_time": now, "total_chunks": total_chunks, "interface": spec.interface,
    }
    model_id = new_document_id(ml.rng)
    ml.models.index.index(model_id, present({key: value for key, value in doc.items() if value is not None}))
    ml.log.append("os_model_meta_registered", "model meta registered", model_id=model_id,
                  total_chunks=total_chunks)
    return {"model_id": model_id, "status": "CREATED"}


def chunk_number_of(raw: str) -> int:
    """`Integer.parseInt` of the path's chunk number."""
    if not _JAVA_INT.fullmatch(raw) or not -2**31 <= int(raw) < 2**31:
        raise MlError(400, "number_format_exception", f'For input string: "{raw}"')
    return int(raw)


def upload_chunk(ml: MlCommons, model_id: str, raw_number: str, content: bytes) -> dict[str, Any]:
    """`POST /models/{id}/upload_chunk/{n}`; returns the answer."""
    number = chunk_number_of(raw_number)
    require_local_file_upload(ml, chunk=True)
    model = ml.models.index.get(model_id)
    if model is None:
        raise os_status(404, "Failed to find model")
    total = model.get("total_chunks")
    if not isinstance(total, int):
        raise caller_error("null_pointer_exception", 'Cannot invoke "java.lang.Integer.intValue()" because the return '
                           'value of "org.opensearch.ml.common.MLModel.getTotalChunks()" is null')
    if total <= number:
        raise caller_error("exception", "Chunk number exceeds total chunks")
    if not content:
        raise caller_error("exception", "Chunk size either 0 or null")
    if len(content) > CHUNK_SIZE:
        raise caller_error("exception", "Chunk size exceeds 10MB")
    chunk = {"algorithm": model.get("algorithm"), "model_group_id": model.get("model_group_id"),
             "model_version": model.get("model_version"), "model_format": model.get("model_format"),
             "model_id": model_id, "chunk_number": number, "total_chunks": total}
    ml.models.index.index(chunk_id(model_id, number), present({k: v for k, v in chunk.items() if v is not None}))
    if total == number + 1:
        registered = {key: model[key] for key in _REGISTERED_FIELDS if key in model}
        ml.models.index.index(model_id, present({**registered, "model_state": "REGISTERED"}))
        ml.log.append("os_model_registered", "last model chunk uploaded", model_id=model_id)
    return {"status": "Uploaded"}
