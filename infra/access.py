"""What each function does to each table: the operations its code performs, no more.

tests/infra/test_least_privilege.py records every call the functions make on moto (all shipped scenarios and the paths
none takes) and fails when a function is granted less than it calls, or more than it calls without a reason in
infra/findings.py (UNRECORDED_GRANTS). Change this table with the code that calls DynamoDB.
"""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_

from omnijourney.profiles.store import IdentityRecord, ProfileRecord

BY_NAME = f"profiles_table/index/{ProfileRecord.by_name.Meta.index_name}"
BY_CUSTOMER = f"identities_table/index/{IdentityRecord.by_customer.Meta.index_name}"
# A table's setting (omnijourney.app.storage), or `<setting>/index/<index>` → the DynamoDB actions on it.
TABLE_ACCESS: dict[str, dict[str, tuple[str, ...]]] = {
    # One event: identities resolved (a batch), a merge or a new profile in one transaction (puts), history written,
    # journey runs started and ended; Powertools idempotency puts, completes, and deletes a record whose event failed.
    # A CRM's deletions (app.removals): a deleted contact's id unlinked, and a GDPR deletion erasing the customer as
    # the profile API's erasure does (every identity through the index by customer, history, runs and profile).
    "profile": {
        "profiles_table": ("GetItem", "PutItem", "BatchWriteItem"),
        "identities_table": ("BatchGetItem", "PutItem", "DeleteItem", "BatchWriteItem"),
        BY_CUSTOMER: ("Query",),
        "history_table": ("PutItem", "Query", "BatchWriteItem"),
        "idempotency_table": ("PutItem", "UpdateItem", "DeleteItem"),
        "journey_runs_table": ("PutItem", "Query", "UpdateItem", "DeleteItem"),
        # SES's records of an accepted email confirm its pending entry (runtime.ledger.confirm_sent).
        "ledger_table": ("Query", "UpdateItem"),
    },
    # Lookups (by identifier, by name), the profile page (with the unconfirmed sends), and erasure: runs stopped
    # and emptied, skipped entries deleted, the ledger scrubbed, every identity (through the index by customer),
    # history and profile deleted.
    "profile_api": {
        "profiles_table": ("GetItem", "BatchWriteItem"),
        BY_NAME: ("Query",),
        "identities_table": ("BatchGetItem", "BatchWriteItem"),
        BY_CUSTOMER: ("Query",),
        "history_table": ("Query", "BatchWriteItem"),
        "journey_runs_table": ("Query", "UpdateItem", "DeleteItem"),
        "ledger_table": ("Query", "UpdateItem"),
    },
    # The customer screen finds customers and reads their page (with the sends no provider confirmed, from the
    # ledger); it never writes a table, scans one, or erases.
    "staff_api": {
        "profiles_table": ("GetItem",),
        BY_NAME: ("Query",),
        "identities_table": ("BatchGetItem",),
        "history_table": ("Query",),
        "ledger_table": ("Query",),
    },
    # A step re-reads the profile and amends it (notes, tags), reads what the guards count, writes the ledger.
    "journey_step": {
        "profiles_table": ("GetItem", "PutItem"),
        "history_table": ("Query",),
        "journey_runs_table": ("GetItem", "UpdateItem"),
        "ledger_table": ("Query", "PutItem", "UpdateItem"),
    },
    # A schedule's turn and the hourly segments walk the live profiles, start and end runs, and count the sends no
    # provider confirmed (a scan of the ledger, runtime.ledger.newly_unconfirmed).
    "journey_schedule": {
        "profiles_table": ("Scan", "GetItem", "PutItem"),
        "history_table": ("Query",),
        "journey_runs_table": ("PutItem", "Query", "UpdateItem"),
        "ledger_table": ("Scan",),
    },
}
# A segment counting days since the last message reads the ledger (runtime.segments), only then: the functions that
# evaluate segments query it.
LEDGER_READERS = ("profile", "journey_schedule")
READ_ACTIONS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})


def grant_tables(
    function_name: str,
    function: lambda_.IFunction,
    tables: dict[str, dynamodb.Table],
    key: kms.IKey,
    *,
    reads_messages: bool,
) -> None:
    """The function's actions on each table and index it uses, and the table key as DynamoDB uses it on its behalf."""
    access = dict(TABLE_ACCESS[function_name])
    if reads_messages and function_name in LEDGER_READERS:
        access["ledger_table"] = (*access.get("ledger_table", ()), "Query")
    for target, actions in access.items():
        setting, _, index = target.partition("/index/")
        arn = tables[setting].table_arn + (f"/index/{index}" if index else "")
        function.add_to_role_policy(
            iam.PolicyStatement(actions=[f"dynamodb:{action}" for action in actions], resources=[arn])
        )
    writes = any(set(actions) - READ_ACTIONS for actions in access.values())
    # As CDK's own table grants ask of the key (grant_read_data, grant_write_data).
    key_actions = ["kms:Decrypt", "kms:DescribeKey"]
    if writes:
        key_actions += ["kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"]
    function.add_to_role_policy(iam.PolicyStatement(actions=key_actions, resources=[key.key_arn]))
