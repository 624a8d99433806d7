"""KMS, Vault secrets and secret retrieval through the real SDK and CLI: a vault
(waited ACTIVE), a key on the vault's management endpoint, a secret; a new
version, a pending version and its promotion; versions listed and read; the
bundle by id, by name, by stage, by version number and by version name;
scheduled deletion (the content is inaccessible at once) and its cancellation;
the errors; and an IAM policy deciding a workload principal's reads."""

import base64
import json
import uuid

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import NO_RETRY

km = oci.key_management.models
vm = oci.vault.models
WAIT = {"max_interval_seconds": 1, "max_wait_seconds": 120}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def text_of(bundle):
    assert bundle.secret_bundle_content.content_type == "BASE64"
    return base64.b64decode(bundle.secret_bundle_content.content).decode()


def raises(code, status, fn, *args, **kw):
    with pytest.raises(oci.exceptions.ServiceError) as e:
        fn(*args, retry_strategy=NO_RETRY, **kw)
    assert (e.value.status, e.value.code) == (status, code), e.value.message
    return e.value


@pytest.fixture(scope="module")
def kms(client):
    return client(oci.key_management.KmsVaultClient)


@pytest.fixture(scope="module")
def vaults(client):
    return client(oci.vault.VaultsClient)


@pytest.fixture(scope="module")
def secrets(client):
    return client(oci.secrets.SecretsClient)


@pytest.fixture(scope="module")
def vault(kms, tenancy):
    ops = oci.key_management.KmsVaultClientCompositeOperations(kms)
    v = ops.create_vault_and_wait_for_state(
        km.CreateVaultDetails(compartment_id=tenancy, display_name="app-vault", vault_type="DEFAULT"),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data
    assert v.lifecycle_state == "ACTIVE"
    return v


@pytest.fixture(scope="module")
def keys(oci_config, vault):
    cfg = {k: v for k, v in oci_config.items() if k != "path"}
    return oci.key_management.KmsManagementClient(cfg, service_endpoint=vault.management_endpoint)


@pytest.fixture(scope="module")
def key(keys, vault, tenancy):
    ops = oci.key_management.KmsManagementClientCompositeOperations(keys)
    k = ops.create_key_and_wait_for_state(
        km.CreateKeyDetails(compartment_id=tenancy, display_name="master",
                            key_shape=km.KeyShape(algorithm="AES", length=32)),
        wait_for_states=["ENABLED"], waiter_kwargs=WAIT).data
    assert k.lifecycle_state == "ENABLED" and k.vault_id == vault.id
    return k


def new_secret(vaults, vault, key, tenancy, text, name=None):
    ops = oci.vault.VaultsClientCompositeOperations(vaults)
    s = ops.create_secret_and_wait_for_state(
        vm.CreateSecretDetails(
            compartment_id=tenancy, vault_id=vault.id, key_id=key.id,
            secret_name=name or f"s-{uuid.uuid4().hex[:8]}", description="test",
            secret_content=vm.Base64SecretContentDetails(content_type="BASE64", content=b64(text), name="v1")),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data
    assert s.lifecycle_state == "ACTIVE" and s.current_version_number == 1
    return s


def new_version(vaults, secret_id, text, name, stage="CURRENT"):
    ops = oci.vault.VaultsClientCompositeOperations(vaults)
    return ops.update_secret_and_wait_for_state(
        secret_id,
        vm.UpdateSecretDetails(secret_content=vm.Base64SecretContentDetails(
            content_type="BASE64", content=b64(text), name=name, stage=stage)),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data


def test_vault_endpoints_point_back_at_the_twin(kms, vault, endpoint, tenancy):
    assert vault.management_endpoint.startswith(endpoint + "/kms/")
    assert vault.crypto_endpoint.startswith(endpoint + "/kms/")
    assert vault.wrappingkey_id.startswith("ocid1.key.")
    listed = oci.pagination.list_call_get_all_results(kms.list_vaults, tenancy).data
    assert vault.id in [v.id for v in listed]
    got = kms.get_vault(vault.id)
    assert got.headers["etag"] and got.data.vault_type == "DEFAULT"


def test_keys_live_on_the_management_endpoint(keys, key, tenancy):
    listed = oci.pagination.list_call_get_all_results(keys.list_keys, tenancy).data
    assert [k.id for k in listed] == [key.id] and listed[0].algorithm == "AES"
    version = keys.create_key_version(key.id).data
    assert keys.get_key(key.id).data.current_key_version == version.id
    assert len(keys.list_key_versions(key.id).data) == 2
    e = raises("InvalidParameter", 400, keys.create_key, km.CreateKeyDetails(
        compartment_id=tenancy, display_name="bad", key_shape=km.KeyShape(algorithm="AES", length=20)))
    assert e.message.startswith("keyShape:")


def test_versions_stages_and_bundles(vaults, secrets, vault, key, tenancy):
    s = new_secret(vaults, vault, key, tenancy, "hunter2", name="db-password")
    # The management API never returns content.
    assert "hunter2" not in json.dumps(oci.util.to_dict(vaults.get_secret(s.id).data))
    assert new_version(vaults, s.id, "swordfish", "v2").current_version_number == 2
    new_version(vaults, s.id, "staged", "v3", stage="PENDING")
    versions = oci.pagination.list_call_get_all_results(vaults.list_secret_versions, s.id).data
    assert [(v.version_number, v.stages) for v in versions] == [
        (1, ["PREVIOUS"]), (2, ["CURRENT"]), (3, ["PENDING", "LATEST"])]
    assert vaults.get_secret_version(s.id, 3).data.name == "v3"

    assert text_of(secrets.get_secret_bundle(s.id).data) == "swordfish"
    assert text_of(secrets.get_secret_bundle(s.id, version_number=1).data) == "hunter2"
    assert text_of(secrets.get_secret_bundle(s.id, secret_version_name="v3").data) == "staged"
    assert text_of(secrets.get_secret_bundle(s.id, stage="PREVIOUS").data) == "hunter2"
    by_name = secrets.get_secret_bundle_by_name(secret_name="db-password", vault_id=vault.id).data
    assert (by_name.version_number, by_name.stages, text_of(by_name)) == (2, ["CURRENT"], "swordfish")
    pending = secrets.get_secret_bundle_by_name(secret_name="db-password", vault_id=vault.id, stage="PENDING").data
    assert pending.version_number == 3

    # Promote the pending version: it becomes CURRENT, the old CURRENT PREVIOUS.
    promoted = vaults.update_secret(s.id, vm.UpdateSecretDetails(current_version_number=3)).data
    assert promoted.current_version_number == 3
    assert text_of(secrets.get_secret_bundle(s.id).data) == "staged"
    bundles = secrets.list_secret_bundle_versions(s.id).data
    assert [(b.version_number, b.stages) for b in bundles] == [
        (1, ["DEPRECATED"]), (2, ["PREVIOUS"]), (3, ["CURRENT", "LATEST"])]

    e = raises("NotAuthorizedOrNotFound", 404, secrets.get_secret_bundle, s.id, version_number=9)
    assert "db-password" in e.message and "version number 9" in e.message
    raises("NotAuthorizedOrNotFound", 404, secrets.get_secret_bundle_by_name,
           secret_name="nope", vault_id=vault.id)
    listed = oci.pagination.list_call_get_all_results(
        vaults.list_secrets, tenancy, vault_id=vault.id, name="db-password").data
    assert [x.id for x in listed] == [s.id]


def test_scheduled_deletion_hides_the_content_until_cancelled(vaults, secrets, vault, key, tenancy):
    s = new_secret(vaults, vault, key, tenancy, "k1")
    r = vaults.schedule_secret_deletion(s.id, vm.ScheduleSecretDeletionDetails())
    assert r.headers["etag"]
    got = vaults.get_secret(s.id).data
    assert got.lifecycle_state in ("SCHEDULING_DELETION", "PENDING_DELETION")
    assert got.time_of_deletion is not None
    e = raises("Conflict", 409, secrets.get_secret_bundle, s.id)
    assert "cannot read its content" in e.message
    vaults.cancel_secret_deletion(s.id)
    oci.wait_until(vaults, vaults.get_secret(s.id), "lifecycle_state", "ACTIVE", **WAIT)
    assert text_of(secrets.get_secret_bundle(s.id).data) == "k1"


def test_errors(vaults, vault, key, tenancy):
    details = lambda **kw: vm.CreateSecretDetails(  # noqa: E731
        compartment_id=tenancy, vault_id=vault.id, key_id=key.id, secret_name=f"e-{uuid.uuid4().hex[:6]}",
        secret_content=vm.Base64SecretContentDetails(content_type="BASE64", content=kw.get("content", b64("x"))))
    e = raises("InvalidParameter", 400, vaults.create_secret, details(content="not base64!"))
    assert e.message.startswith("secretContent.content:")
    s = new_secret(vaults, vault, key, tenancy, "x", name="taken")
    dup = details()
    dup.secret_name = "taken"
    raises("Conflict", 409, vaults.create_secret, dup)
    raises("NotAuthorizedOrNotFound", 404, vaults.get_secret, "ocid1.vaultsecret.oc1.iad.nope")
    raises("NoEtagMatch", 412, vaults.update_secret, s.id, vm.UpdateSecretDetails(description="d"),
           if_match="stale")
    e = raises("Conflict", 409, vaults.schedule_secret_version_deletion, s.id, 1,
               vm.ScheduleSecretVersionDeletionDetails())
    assert "only DEPRECATED versions" in e.message


def test_cli(cli, tenancy):
    v = cli("kms", "management", "vault", "create", "--compartment-id", tenancy, "--display-name", "cli-vault",
            "--vault-type", "DEFAULT", "--wait-for-state", "ACTIVE", "--wait-interval-seconds", "1")["data"]
    assert v["lifecycle-state"] == "ACTIVE"
    # Keys: the CLI's --endpoint must be the vault's management endpoint (it
    # comes after the suite's own --endpoint, and the last one wins).
    k = cli("kms", "management", "key", "create", "--compartment-id", tenancy, "--display-name", "cli-key",
            "--key-shape", '{"algorithm":"AES","length":32}', "--endpoint", v["management-endpoint"],
            "--wait-for-state", "ENABLED", "--wait-interval-seconds", "1")["data"]
    assert k["lifecycle-state"] == "ENABLED"
    s = cli("vault", "secret", "create-base64", "--compartment-id", tenancy, "--secret-name", "cli-secret",
            "--vault-id", v["id"], "--key-id", k["id"], "--secret-content-content", b64("pw1"),
            "--wait-for-state", "ACTIVE", "--wait-interval-seconds", "1")["data"]
    cli("vault", "secret", "update-base64", "--secret-id", s["id"], "--secret-content-content", b64("pw2"),
        "--secret-content-stage", "PENDING", "--force")
    pending = cli("secrets", "secret-bundle", "get-secret-bundle-by-name", "--secret-name", "cli-secret",
                  "--vault-id", v["id"], "--stage", "PENDING")["data"]
    assert base64.b64decode(pending["secret-bundle-content"]["content"]) == b"pw2"
    versions = cli("vault", "secret-version", "list", "--secret-id", s["id"], "--all")["data"]
    assert [(x["version-number"], x["stages"]) for x in versions] == [(1, ["CURRENT"]), (2, ["PENDING", "LATEST"])]
    err = cli.fails("secrets", "secret-bundle", "get", "--secret-id", s["id"], "--version-number", "9")
    assert err["status"] == 404 and err["code"] == "NotAuthorizedOrNotFound"


def workload_token(service_account):
    """A twin session token naming a workload (the claims of src/api/auth.rs).
    The default permissive server reads its claims without checking signatures."""
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    claims = {"tenant": "t", "cluster_id": "ocid1.cluster.oc1.iad.c1", "namespace": "payments",
              "service_account": service_account}
    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.AAAA"


def test_policies_decide_workload_reads(client, endpoint, vaults, vault, key, tenancy):
    identity = client(oci.identity.IdentityClient)
    s = new_secret(vaults, vault, key, tenancy, "from-vault", name="eso-secret")
    policy_name = f"eso-reads-secrets-{uuid.uuid4().hex[:6]}"
    e = raises("InvalidParameter", 400, identity.create_policy, oci.identity.models.CreatePolicyDetails(
        compartment_id=tenancy, name="bad", description="d",
        statements=["Allow any-user to reed secret-family in tenancy"]))
    assert "column 19: unknown verb `reed`" in e.message
    identity.create_policy(oci.identity.models.CreatePolicyDetails(
        compartment_id=tenancy, name=policy_name, description="ESO",
        statements=["Allow any-user to read secret-family in tenancy where all {"
                    "request.principal.type = 'workload', request.principal.namespace = 'payments', "
                    "request.principal.service_account = 'external-secrets'}"]))
    session_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def secrets_as(service_account):
        signer = oci.auth.signers.SecurityTokenSigner(workload_token(service_account), session_key)
        return oci.secrets.SecretsClient({"region": "us-ashburn-1"}, signer=signer, service_endpoint=endpoint)

    allowed = secrets_as("external-secrets").get_secret_bundle_by_name(secret_name="eso-secret", vault_id=vault.id)
    assert text_of(allowed.data) == "from-vault"
    e = raises("NotAuthorizedOrNotFound", 404, secrets_as("default").get_secret_bundle, s.id)
    assert f"policy `{policy_name}` statement 1" in e.message
    assert "request.principal.service_account = 'external-secrets' is false" in e.message
