"""The channel adapters against SES v2 and SNS on moto.

moto keeps what it sent (SES messages, SMS, endpoint pushes) but drops SES headers, tags and configuration
set and SNS SMS attributes, so those are checked on the request the adapter made, which moto accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from email.utils import parseaddr
from typing import Any

import pytest
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from omnijourney.channels import OutgoingMessage, SendFailed, adapter_for, use_adapter
from omnijourney.channels.email import ADAPTER as EMAIL
from omnijourney.platform import aws
from omnijourney.vocabulary import Category
from omnijourney_tools.local import ACCOUNT, REGION
from tests.integration.conftest import fake_aws

SENDER = "shop@shoes.example"
CONFIGURATION_SET = "omnijourney-test"
SENDER_ID = "SHOES"

WELCOME = OutgoingMessage(
    message_key="exec-7f3a:send_welcome:1",
    customer_id="cus_0b6e",
    journey="cart recovery",
    step="send_welcome",
    channel="email",
    category="marketing",
    to="ana@example.com",
    subject="Your shoes are still in the cart",
    body="Size 38, in stock at Lisbon Chiado.",
    unsubscribe_url="https://shoes.example/unsubscribe?token=abc",
)
RECEIPT = replace(WELCOME, category="transactional", subject="Your order", unsubscribe_url=None)
SMS = replace(WELCOME, channel="sms", to="+351912345678", subject=None, unsubscribe_url=None)
PUSH = replace(WELCOME, channel="push", subject=None, unsubscribe_url=None)


@pytest.fixture
def moto() -> Iterator[None]:
    settings = {
        "OMNIJOURNEY_EMAIL_FROM_ADDRESS": SENDER,
        "OMNIJOURNEY_EMAIL_CONFIGURATION_SET": CONFIGURATION_SET,
        "OMNIJOURNEY_SMS_SENDER_ID": SENDER_ID,
    }
    with fake_aws(**settings):
        yield


@pytest.fixture
def verified_sender(moto: None) -> None:
    aws.client("sesv2").create_email_identity(EmailIdentity=SENDER)
    aws.client("sesv2").create_configuration_set(ConfigurationSetName=CONFIGURATION_SET)


def requests_to(service: str, operation: str) -> list[dict[str, Any]]:
    """The parameters of every later call of `operation`, as the adapter passed them."""
    seen: list[dict[str, Any]] = []
    aws.client(service).meta.events.register(
        f"before-parameter-build.{service}.{operation}", lambda params, **_: seen.append(params)
    )
    return seen


def sent_emails() -> list[Any]:
    return list(ses_backends[ACCOUNT][REGION].sent_messages)


def test_marketing_email_goes_from_the_store_with_one_click_unsubscribe(verified_sender: None) -> None:
    requests = requests_to("sesv2", "SendEmail")

    message_id = EMAIL.send(WELCOME)

    (email,) = sent_emails()
    assert email.id == message_id
    assert parseaddr(email.source) == ("omnijourney shop", SENDER)
    assert email.destinations == {"ToAddresses": ["ana@example.com"]}
    assert (email.subject, email.body) == (WELCOME.subject, WELCOME.body)
    (request,) = requests
    assert request["Content"]["Simple"]["Headers"] == [
        {"Name": "List-Unsubscribe", "Value": "<https://shoes.example/unsubscribe?token=abc>"},
        {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
    ]


def test_transactional_email_carries_no_unsubscribe_headers(verified_sender: None) -> None:
    requests = requests_to("sesv2", "SendEmail")

    EMAIL.send(RECEIPT)

    assert [email.subject for email in sent_emails()] == ["Your order"]
    assert "Headers" not in requests[0]["Content"]["Simple"]


def test_email_is_tagged_for_event_publishing_with_characters_ses_accepts(verified_sender: None) -> None:
    requests = requests_to("sesv2", "SendEmail")

    EMAIL.send(WELCOME)

    (request,) = requests
    assert request["ConfigurationSetName"] == CONFIGURATION_SET
    assert {tag["Name"]: tag["Value"] for tag in request["EmailTags"]} == {
        "journey": "cart_recovery",
        "step": "send_welcome",
        "customer_id": "cus_0b6e",
        "category": "marketing",
        "message_key": "exec-7f3a_send_welcome_1",
    }


def test_email_from_an_unverified_sender_fails_permanently(moto: None) -> None:
    with pytest.raises(SendFailed) as failure:
        EMAIL.send(RECEIPT)

    assert (failure.value.reason, failure.value.retryable) == ("message_rejected", False)
    assert sent_emails() == []


def test_marketing_email_without_an_unsubscribe_url_is_refused_before_sending(verified_sender: None) -> None:
    with pytest.raises(SendFailed) as failure:
        EMAIL.send(replace(WELCOME, unsubscribe_url=None))

    assert (failure.value.reason, failure.value.retryable) == ("missing_unsubscribe_url", False)
    assert sent_emails() == []


def test_email_without_a_subject_is_refused_before_sending(verified_sender: None) -> None:
    with pytest.raises(SendFailed) as failure:
        EMAIL.send(replace(RECEIPT, subject=None))

    assert (failure.value.reason, failure.value.retryable) == ("missing_subject", False)
    assert sent_emails() == []


def sms_attributes(request: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in request["MessageAttributes"].items()}


def test_marketing_sms_is_sent_as_promotional_from_the_sender_id(moto: None) -> None:
    requests = requests_to("sns", "Publish")

    message_id = adapter_for("sms").send(SMS)

    assert sns_backends[ACCOUNT][REGION].sms_messages[message_id] == ("+351912345678", SMS.body)
    assert sms_attributes(requests[0]) == {"AWS.SNS.SMS.SMSType": "Promotional", "AWS.SNS.SMS.SenderID": SENDER_ID}


@pytest.mark.parametrize("category", ["transactional", "service"])
def test_transactional_and_service_sms_are_sent_as_transactional(moto: None, category: Category) -> None:
    requests = requests_to("sns", "Publish")

    message_id = adapter_for("sms").send(replace(SMS, category=category))

    assert message_id in sns_backends[ACCOUNT][REGION].sms_messages
    assert sms_attributes(requests[0])["AWS.SNS.SMS.SMSType"] == "Transactional"


def test_sms_to_a_number_that_is_not_e164_fails_permanently_as_an_invalid_address(moto: None) -> None:
    with pytest.raises(SendFailed) as failure:
        adapter_for("sms").send(replace(SMS, to="912 345 678"))

    assert (failure.value.reason, failure.value.retryable) == ("invalid_address", False)
    assert sns_backends[ACCOUNT][REGION].sms_messages == {}


def platform_endpoint(platform: str = "GCM") -> str:
    sns = aws.client("sns")
    application = sns.create_platform_application(
        Name=f"shoes-{platform.lower()}", Platform=platform, Attributes={"PlatformCredential": "server-key"}
    )
    endpoint = sns.create_platform_endpoint(
        PlatformApplicationArn=application["PlatformApplicationArn"], Token="device-token-1"
    )
    return str(endpoint["EndpointArn"])


def test_push_reaches_the_endpoint_with_fcm_and_apns_payloads(moto: None) -> None:
    endpoint_arn = platform_endpoint()

    message_id = adapter_for("push").send(replace(PUSH, to=endpoint_arn))

    published = json.loads(sns_backends[ACCOUNT][REGION].platform_endpoints[endpoint_arn].messages[message_id])
    data = {"message_key": PUSH.message_key, "journey": PUSH.journey, "step": PUSH.step}
    assert published["default"] == PUSH.body
    assert json.loads(published["GCM"]) == {
        "fcmV1Message": {"message": {"notification": {"title": "omnijourney shop", "body": PUSH.body}, "data": data}}
    }
    assert json.loads(published["APNS"]) == {"aps": {"alert": {"title": "omnijourney shop", "body": PUSH.body}}} | data
    assert published["APNS_SANDBOX"] == published["APNS"]


def test_push_to_a_disabled_endpoint_fails_permanently(moto: None) -> None:
    endpoint_arn = platform_endpoint()
    aws.client("sns").set_endpoint_attributes(EndpointArn=endpoint_arn, Attributes={"Enabled": "false"})

    with pytest.raises(SendFailed) as failure:
        adapter_for("push").send(replace(PUSH, to=endpoint_arn))

    assert (failure.value.reason, failure.value.retryable) == ("endpoint_disabled", False)


class RecordingAdapter:
    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    def send(self, message: OutgoingMessage) -> str:
        self.sent.append(message)
        return f"fake-{len(self.sent)}"


def test_an_injected_adapter_sends_instead_of_the_default_until_restored() -> None:
    fake = RecordingAdapter()

    use_adapter("email", fake)
    try:
        assert adapter_for("email").send(WELCOME) == "fake-1"
        assert adapter_for("sms") is not fake
    finally:
        use_adapter("email", None)

    assert fake.sent == [WELCOME]
    assert adapter_for("email") is EMAIL


def test_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValueError, match="fax"):
        adapter_for("fax")
    with pytest.raises(ValueError, match="fax"):
        use_adapter("fax", RecordingAdapter())
