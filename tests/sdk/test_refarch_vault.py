"""The reference architecture's Vault, on the shared `refarch` fixture: a vault,
an AES key on its management endpoint and the database password secret in the
refarch compartment; the password read back by name as External Secrets
reads it (GetSecretBundleByName, stage CURRENT); and the workload-identity
policy of domain.md §6, written for the refarch compartment, letting only the
External Secrets service account read it."""

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
CLUSTER = "ocid1.cluster.oc1.iad.aaaaaaaarefarch"


def session_token(namespace, service_account):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    claims = {"tenant": "t", "cluster_id": CLUSTER, "namespace": namespace,
              "service_account": service_account}
    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.AAAA"


def test_vault_key_secret_and_the_password_by_name(refarch, client, oci_config, endpoint):
    comp = refarch.compartment.id
    kms = client(oci.key_management.KmsVaultClient)
    vault = oci.key_management.KmsVaultClientCompositeOperations(kms).create_vault_and_wait_for_state(
        km.CreateVaultDetails(compartment_id=comp, display_name="refarch-vault", vault_type="DEFAULT"),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data
    cfg = {k: v for k, v in oci_config.items() if k != "path"}
    keys = oci.key_management.KmsManagementClient(cfg, service_endpoint=vault.management_endpoint)
    key = oci.key_management.KmsManagementClientCompositeOperations(keys).create_key_and_wait_for_state(
        km.CreateKeyDetails(compartment_id=comp, display_name="refarch-key",
                            key_shape=km.KeyShape(algorithm="AES", length=32)),
        wait_for_states=["ENABLED"], waiter_kwargs=WAIT).data
    vaults = client(oci.vault.VaultsClient)
    password = uuid.uuid4().hex
    secret = oci.vault.VaultsClientCompositeOperations(vaults).create_secret_and_wait_for_state(
        vm.CreateSecretDetails(
            compartment_id=comp, vault_id=vault.id, key_id=key.id, secret_name="mysql-admin-password",
            secret_content=vm.Base64SecretContentDetails(
                content_type="BASE64", content=base64.b64encode(password.encode()).decode())),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data
    assert [s.id for s in vaults.list_secrets(comp, vault_id=vault.id).data] == [secret.id]

    identity = client(oci.identity.IdentityClient)
    identity.create_policy(oci.identity.models.CreatePolicyDetails(
        compartment_id=refarch.compartment.compartment_id, name=f"refarch-eso-{uuid.uuid4().hex[:6]}",
        description="External Secrets reads the refarch secrets",
        statements=["Allow any-user to read secret-family in compartment refarch where all {"
                    "request.principal.type = 'workload', request.principal.namespace = 'external-secrets', "
                    "request.principal.service_account = 'external-secrets', "
                    f"request.principal.cluster_id = '{CLUSTER}'}}"]))
    session_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def as_workload(namespace, service_account):
        signer = oci.auth.signers.SecurityTokenSigner(session_token(namespace, service_account), session_key)
        return oci.secrets.SecretsClient({"region": "us-ashburn-1"}, signer=signer, service_endpoint=endpoint)

    eso = as_workload("external-secrets", "external-secrets")
    bundle = eso.get_secret_bundle_by_name(secret_name="mysql-admin-password", vault_id=vault.id).data
    assert bundle.stages == ["CURRENT", "LATEST"]
    assert base64.b64decode(bundle.secret_bundle_content.content).decode() == password
    with pytest.raises(oci.exceptions.ServiceError) as e:
        as_workload("default", "default").get_secret_bundle_by_name(
            secret_name="mysql-admin-password", vault_id=vault.id, retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (404, "NotAuthorizedOrNotFound")
    assert "request.principal.namespace = 'external-secrets' is false" in e.value.message
