"""Request signatures both ways (issue 3, point 5): the real SDK and CLI sign,
a strict twin verifies; a wrong key, a tampered body, a skewed clock and a
malformed header are refused with 401 NotAuthenticated."""

import email.utils
import time
import types

import oci
import pytest
from oci._vendor import requests
from conftest import NO_RETRY, Cli
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def make_key(d, name):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.MD5())
    digest.update(der)
    path = d / f"{name}.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    return types.SimpleNamespace(
        pem_path=str(path), fingerprint=":".join(f"{b:02x}" for b in digest.finalize()))


@pytest.fixture(scope="module")
def strict(start_server, api_key):
    """A twin that verifies every signature against the suite's API key."""
    s = start_server("--auth", "strict", "--api-key", api_key.public_pem_path)
    s.tenancy = requests.get(s.url + "/_ocisim/health").json()["tenancyId"]
    return s


def config(server, key, tmp_path, name="DEFAULT"):
    cfg = {
        "user": "ocid1.user.oc1..aaaaaaaaocisimauthuser",
        "tenancy": server.tenancy,
        "fingerprint": key.fingerprint,
        "key_file": key.pem_path,
        "region": "us-ashburn-1",
    }
    oci.config.validate_config(cfg)
    path = tmp_path / f"config-{name}"
    path.write_text("[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in cfg.items()))
    path.chmod(0o600)
    return cfg, str(path)


def test_the_sdk_signs_gets_posts_puts_and_deletes_and_the_twin_verifies(strict, api_key, tmp_path):
    cfg, _ = config(strict, api_key, tmp_path)
    identity = oci.identity.IdentityClient(cfg, service_endpoint=strict.url,
                                           retry_strategy=NO_RETRY)
    names = {r.name for r in identity.list_regions().data}
    assert "us-ashburn-1" in names
    vn = oci.core.VirtualNetworkClient(cfg, service_endpoint=strict.url)
    vcn = vn.create_vcn(oci.core.models.CreateVcnDetails(
        compartment_id=strict.tenancy, cidr_blocks=["10.7.0.0/16"],
        display_name="signed")).data
    assert vcn.cidr_blocks == ["10.7.0.0/16"]
    renamed = vn.update_vcn(vcn.id, oci.core.models.UpdateVcnDetails(display_name="still-signed")).data
    assert renamed.display_name == "still-signed"
    vn.delete_vcn(vcn.id)
    try:
        state = vn.get_vcn(vcn.id).data.lifecycle_state
    except oci.exceptions.ServiceError as e:
        assert e.status == 404
    else:
        assert state in ("TERMINATING", "TERMINATED")


def test_a_key_the_twin_does_not_know_is_refused(strict, tmp_path):
    stranger = make_key(tmp_path, "stranger")
    cfg, _ = config(strict, stranger, tmp_path)
    identity = oci.identity.IdentityClient(cfg, service_endpoint=strict.url,
                                           retry_strategy=NO_RETRY)
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.list_regions()
    assert e.value.status == 401
    assert e.value.code == "NotAuthenticated"
    assert stranger.fingerprint in e.value.message


def test_a_key_claiming_another_fingerprint_is_refused(strict, api_key, tmp_path):
    impostor = make_key(tmp_path, "impostor")
    impostor.fingerprint = api_key.fingerprint  # claims the registered key's id
    cfg, _ = config(strict, impostor, tmp_path)
    identity = oci.identity.IdentityClient(cfg, service_endpoint=strict.url,
                                           retry_strategy=NO_RETRY)
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.list_regions()
    assert e.value.status == 401
    assert "does not verify" in e.value.message


def signer_for(strict, api_key):
    return oci.signer.Signer(strict.tenancy, "ocid1.user.oc1..aaaaaaaaocisimauthuser",
                             api_key.fingerprint, api_key.pem_path)


def test_a_body_altered_after_signing_is_refused(strict, api_key):
    body = '{"compartmentId": "%s", "cidrBlocks": ["10.8.0.0/16"]}' % strict.tenancy
    req = requests.Request("POST", strict.url + "/20160918/vcns", data=body,
                           headers={"content-type": "application/json"})
    prepared = req.prepare()
    signer_for(strict, api_key)(prepared)
    ok = requests.Session().send(prepared)
    assert ok.status_code == 200, ok.text
    prepared2 = requests.Request("POST", strict.url + "/20160918/vcns", data=body,
                                 headers={"content-type": "application/json"}).prepare()
    signer_for(strict, api_key)(prepared2)
    prepared2.body = body.replace("10.8.0.0/16", "10.9.0.0/16")
    refused = requests.Session().send(prepared2)
    assert refused.status_code == 401
    assert refused.json()["code"] == "NotAuthenticated"
    assert "x-content-sha256" in refused.json()["message"]


def test_a_date_more_than_five_minutes_off_is_refused(strict, api_key):
    url = strict.url + "/20160918/regions"
    for offset, expected in ((-240, 200), (-600, 401)):
        prepared = requests.Request("GET", url).prepare()
        prepared.headers["date"] = email.utils.formatdate(time.time() + offset, usegmt=True)
        signer_for(strict, api_key)(prepared)
        r = requests.Session().send(prepared)
        assert r.status_code == expected, (offset, r.text)
    assert "server clock" in r.json()["message"]


def test_an_unsigned_or_malformed_request_is_refused_in_strict_mode(strict):
    r = requests.get(strict.url + "/20160918/regions")
    assert r.status_code == 401 and r.json()["code"] == "NotAuthenticated"
    r = requests.get(strict.url + "/20160918/regions", headers={"authorization": "Signature x"})
    assert r.status_code == 401 and "malformed" in r.json()["message"]


def test_the_cli_signs_and_the_twin_verifies(strict, api_key, tmp_path):
    _, path = config(strict, api_key, tmp_path, "cli")
    regions = Cli(path, strict.url)("iam", "region", "list")
    assert any(r["name"] == "us-ashburn-1" for r in regions["data"])
    stranger = make_key(tmp_path, "cli-stranger")
    _, bad = config(strict, stranger, tmp_path, "cli-bad")
    err = Cli(bad, strict.url).fails("iam", "region", "list")
    assert err["status"] == 401 and err["code"] == "NotAuthenticated"


def test_permissive_mode_accepts_any_well_formed_signature(endpoint, tmp_path):
    # The default twin: a key it has never seen signs, and it answers.
    stranger = make_key(tmp_path, "anyone")
    server = types.SimpleNamespace(
        url=endpoint, tenancy=requests.get(endpoint + "/_ocisim/health").json()["tenancyId"])
    cfg, _ = config(server, stranger, tmp_path)
    identity = oci.identity.IdentityClient(cfg, service_endpoint=endpoint,
                                           retry_strategy=NO_RETRY)
    assert identity.list_regions().data
    r = requests.get(endpoint + "/20160918/regions", headers={"authorization": "Signature x"})
    assert r.status_code == 401
