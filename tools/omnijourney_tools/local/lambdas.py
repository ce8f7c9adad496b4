"""A state machine's Lambda tasks on moto, answered by handlers in this process instead of moto's canned reply."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

Handler = Callable[[dict[str, Any]], Any]


def function_name(name_or_arn: str) -> str:
    """`my-fn`, `my-fn:live`, `123456789012:function:my-fn` or a full ARN → `my-fn`."""
    parts = name_or_arn.split(":")
    return parts[parts.index("function") + 1] if "function" in parts else parts[0]


@contextmanager
def route_lambdas(handlers: Mapping[str, Handler]) -> Iterator[None]:
    """While open, invoking a Lambda function on moto calls `handlers[its name]` with the event, and answers its result.

    An exception from a handler becomes a function error whose errorType is the exception's class name, as the Lambda
    runtime reports it, so a state's Retry and Catch match on that name. A function without a handler fails the task
    with Lambda.ResourceNotFoundException. Needs moto's in-process Lambda backend (`lambda.use_docker: False`, as in
    `omnijourney.local.MOTO_CONFIG`).
    """
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda_simple.models import LambdaSimpleBackend

    class Unrouted(LambdaClientError):
        code = 404

    def invoke(  # noqa: PLR0917 - moto calls it with these positional arguments
        backend: Any, name_or_arn: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes:
        name = function_name(name_or_arn)
        handler = handlers.get(name)
        if handler is None:
            raise Unrouted(
                "ResourceNotFoundException",
                f"no in-process handler for Lambda function {name!r}; routed: {', '.join(sorted(handlers)) or 'none'}",
            )
        event = json.loads(body) if body else {}
        try:
            result = handler(event)
        except Exception as error:  # noqa: BLE001 - the Lambda runtime reports any exception as a function error
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
        return json.dumps(result).encode()

    with mock.patch.object(LambdaSimpleBackend, "invoke", invoke):
        yield
