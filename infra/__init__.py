"""The CDK app that deploys omnijourney, and the packaging of its Lambda code."""
