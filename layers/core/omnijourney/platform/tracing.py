"""The functions' X-Ray tracing: Powertools' Tracer on a recorder loaded by the first traced call, not at import.

`aws_xray_sdk.core` imports botocore (its sampler), wrapt and asyncio: about twice what boto3 costs, at import, in
functions that load boto3 only on their first AWS call. So the handlers build their Tracer on `LazyRecorder`, which
imports the SDK when the first invocation opens its segment. No library is patched: X-Ray's botocore patch records
the message of every ClientError in its subsegment, and SES's MessageRejected or SNS's InvalidParameter quote the
recipient's address, which traces must never hold. So a trace shows each invocation and the traced record, with
its correlation id, and CloudWatch's own metrics show the AWS calls. Off outside Lambda (tests, `omnijourney
serve`, the simulator: `POWERTOOLS_TRACE_DISABLED`), as Powertools decides.

Traces carry ids only: annotations are correlation ids (events.correlation_id_of), and handlers are traced with
`capture_response=False, capture_error=False`, as answers and error messages may hold a customer's address.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from functools import lru_cache
from typing import Any

from aws_lambda_powertools import Tracer
from aws_lambda_powertools.tracing.base import BaseProvider

CORRELATION_ANNOTATION = "correlation_id"


@lru_cache(maxsize=1)
def _recorder() -> Any:
    import aws_xray_sdk  # type: ignore[import-untyped]  # lazy: see the module's docstring
    from aws_xray_sdk.core import xray_recorder  # type: ignore[import-untyped]  # lazy: as above

    if aws_xray_sdk.global_sdk_config.sdk_enabled():
        xray_recorder.configure(streaming_threshold=0)  # as Powertools does: subsegments sent one by one
    return xray_recorder


class LazyRecorder(BaseProvider):
    """X-Ray's recorder, imported on first use."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[Any]:
        """X-Ray's own context manager records an escaping exception's message, which may quote an address: this
        one marks the subsegment as failed and names only the exception's type."""
        recorder = _recorder()
        subsegment = recorder.begin_subsegment(name=name, **kwargs)
        try:
            yield subsegment
        except BaseException as error:
            if subsegment is not None:
                subsegment.add_fault_flag()
                subsegment.put_annotation("error_type", type(error).__name__)
            raise
        finally:
            if subsegment is not None:
                recorder.end_subsegment()

    def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError("no function is async; X-Ray's async subsegment would record error messages")

    def put_annotation(self, key: str, value: Any) -> None:
        _recorder().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        _recorder().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Any) -> None:
        _recorder()

    def patch_all(self) -> None:
        _recorder()


def function_tracer() -> Tracer:
    """The handler's Tracer, its recorder loaded on the first traced call (auto_patch would load the SDK now)."""
    return Tracer(provider=LazyRecorder(), auto_patch=False)
