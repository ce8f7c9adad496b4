"""The functions' X-Ray tracing: Powertools' Tracer on a recorder loaded by the first traced call, not at import.

`aws_xray_sdk.core` imports botocore (its sampler), wrapt and asyncio: about twice what boto3 costs, at import, in
functions that load boto3 only on their first AWS call. So the handlers build their Tracer on `LazyRecorder`, which
imports the SDK when the first invocation opens its segment (by then botocore is about to load anyway) and patches
botocore only: every AWS call the functions make gets its subsegment; `patch_all` would also import and patch
pynamodb, requests, httplib and sqlite3 at cold start. Off outside Lambda (tests, `omnijourney serve`, the simulator:
`POWERTOOLS_TRACE_DISABLED`), as Powertools decides.

Traces carry ids only: annotations are correlation ids (events.correlation_id_of), and handlers are traced with
`capture_response=False, capture_error=False`, as answers and error messages may hold a customer's address.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider

CORRELATION_ANNOTATION = "correlation_id"


@lru_cache(maxsize=1)
def _recorder() -> Any:
    import aws_xray_sdk  # type: ignore[import-untyped]  # lazy: see the module's docstring
    from aws_xray_sdk.core import patch, xray_recorder  # type: ignore[import-untyped]  # lazy: as above

    if aws_xray_sdk.global_sdk_config.sdk_enabled():
        patch(("botocore",))
        xray_recorder.configure(streaming_threshold=0)  # as Powertools does: subsegments sent one by one
    return xray_recorder


class LazyRecorder(BaseProvider):
    """X-Ray's recorder, imported on first use."""

    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Any:
        return _recorder().in_subsegment(name=name, **kwargs)

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        return _recorder().in_subsegment_async(name=name, **kwargs)  # type: ignore[no-any-return]

    def put_annotation(self, key: str, value: Any) -> None:
        _recorder().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        _recorder().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Any) -> None:
        _recorder()

    def patch_all(self) -> None:
        _recorder()


def function_tracer() -> Tracer:
    """The handler's Tracer: botocore patched on the first traced call (auto_patch would load the SDK now)."""
    return Tracer(provider=LazyRecorder(), auto_patch=False)
