"""`cdk deploy` (or `make synth`): the omnijourney stack for the stage in the `omnijourney` context."""

from __future__ import annotations

import os

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.settings import DeploySettings
from infra.stack import OmnijourneyStack


def build(context: dict[str, object] | None = None, outdir: str | None = None) -> cdk.App:
    """The app, with cdk-nag's AwsSolutions checks on every construct."""
    app = cdk.App(context={"omnijourney": context} if context is not None else None, outdir=outdir)
    settings = DeploySettings.from_context(app.node.try_get_context("omnijourney"))
    OmnijourneyStack(
        app,
        settings.prefix,
        settings=settings,
        description="omnijourney: omnichannel journey orchestration (https://github.com/omnijourney)",
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


if __name__ == "__main__":
    # The CDK CLI says where to write; `make synth` (plain Python, no CLI) writes to cdk.out/.
    print(build(outdir=os.environ.get("CDK_OUTDIR", "cdk.out")).synth().directory)
