"""Shared fixtures of the SDK/CLI compatibility suite.

Run by `cargo test --test sdk` (which installs the pinned packages and starts
the server), or by hand:

    OCISIM_BIN=target/debug/ocisim <venv>/bin/python -m pytest tests/sdk

Fixtures:
  endpoint        the twin's URL (OCISIM_ENDPOINT, else a server started here)
  twin            the control plane: health(), advance("5m"), control(method, path, body)
  start_server    starts another `ocisim serve` with extra flags (strict auth, state file)
  api_key         a generated RSA key: .pem_path, .public_pem_path, .fingerprint
  oci_config      the SDK config dict (tenancy = the twin's), also written to .path
  client          client(oci.core.VirtualNetworkClient) -> a client pointed at the twin
  cli             cli("network", "vcn", "list", ...) -> parsed JSON; cli.fails(...) -> error dict
  compartment     a fresh ACTIVE compartment per test
  refarch         the reference architecture's network, built once per session
                  (other services' test files extend it by using it, see
                  test_reference_architecture.py)
"""

import json
import os
import subprocess
import sys
import time
import types
import urllib.request
import uuid

import oci
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

NO_RETRY = oci.retry.NoneRetryStrategy()


def _http(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


class Server:
    """An `ocisim serve` process on a free port."""

    def __init__(self, *extra):
        binary = os.environ.get("OCISIM_BIN", "target/debug/ocisim")
        self.proc = subprocess.Popen(
            [binary, "serve", "--port", "0", "--time-scale", "600", *extra],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("ocisim serve: listening on http://"), line
        self.url = line.strip().rsplit(" ", 1)[-1]
        deadline = time.time() + 10
        while _http("GET", self.url + "/_ocisim/ready")[0] != 200:
            assert time.time() < deadline, "the server never became ready"
            time.sleep(0.02)

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Twin:
    """The twin's control plane."""

    def __init__(self, url):
        self.url = url

    def control(self, method, path, body=None):
        return _http(method, self.url + "/_ocisim/" + path, body)

    def health(self):
        return self.control("GET", "health")[1]

    def advance(self, duration):
        status, body = self.control("POST", "advance", {"duration": duration})
        assert status == 200, body
        return body


@pytest.fixture(scope="session")
def start_server():
    started = []

    def start(*extra):
        s = Server(*extra)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture(scope="session")
def endpoint(start_server):
    url = os.environ.get("OCISIM_ENDPOINT")
    if url:
        return url
    return start_server().url


@pytest.fixture(scope="session")
def twin(endpoint):
    return Twin(endpoint)


@pytest.fixture(scope="session")
def api_key(tmp_path_factory):
    """A fresh 2048-bit RSA key with its OCI fingerprint (oci-api.md §1.1)."""
    d = tmp_path_factory.mktemp("oci")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    pub = key.public_key()
    der = pub.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.MD5())
    digest.update(der)
    fp = ":".join(f"{b:02x}" for b in digest.finalize())
    key_path = d / "key.pem"
    key_path.write_bytes(pem)
    key_path.chmod(0o600)
    pub_path = d / "public.pem"
    pub_path.write_bytes(pub.public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return types.SimpleNamespace(pem_path=str(key_path), public_pem_path=str(pub_path),
                                 fingerprint=fp, dir=d)


@pytest.fixture(scope="session")
def tenancy(twin):
    return twin.health()["tenancyId"]


@pytest.fixture(scope="session")
def oci_config(api_key, tenancy):
    cfg = {
        "user": "ocid1.user.oc1..aaaaaaaaocisimtestuser",
        "tenancy": tenancy,
        "fingerprint": api_key.fingerprint,
        "key_file": api_key.pem_path,
        "region": "us-ashburn-1",
    }
    oci.config.validate_config(cfg)
    path = api_key.dir / "config"
    path.write_text("[DEFAULT]\n" + "".join(f"{k}={v}\n" for k, v in cfg.items()))
    path.chmod(0o600)
    cfg = dict(cfg)
    cfg["path"] = str(path)
    return cfg


@pytest.fixture(scope="session")
def client(oci_config, endpoint):
    """client(cls, **kw): an SDK client of `cls` pointed at the twin."""
    cfg = {k: v for k, v in oci_config.items() if k != "path"}

    def make(cls, **kw):
        return cls(cfg, service_endpoint=endpoint, **kw)

    return make


class Cli:
    """Runs the `oci` CLI against the twin and parses its JSON output."""

    def __init__(self, config_path, endpoint):
        self.config_path = config_path
        self.endpoint = endpoint

    def _run(self, args):
        here = os.path.join(os.path.dirname(sys.executable), "oci")
        exe = here if os.path.exists(here) else "oci"
        cmd = [exe, "--config-file", self.config_path, "--endpoint", self.endpoint, *args]
        env = dict(os.environ, OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING="True",
                   SUPPRESS_LABEL_WARNING="True")
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)

    def __call__(self, *args):
        r = self._run([str(a) for a in args])
        assert r.returncode == 0, f"oci {' '.join(map(str, args))} failed:\n{r.stderr}"
        return json.loads(r.stdout) if r.stdout.strip() else None

    def fails(self, *args):
        """Runs a command that must fail; returns the ServiceError dict it printed."""
        r = self._run([str(a) for a in args])
        assert r.returncode != 0, f"oci {' '.join(map(str, args))} unexpectedly succeeded"
        text = r.stderr[r.stderr.index("{"):]
        return json.loads(text[:text.rindex("}") + 1])


@pytest.fixture(scope="session")
def cli(oci_config, endpoint):
    return Cli(oci_config["path"], endpoint)


@pytest.fixture(scope="session")
def identity(client):
    return client(oci.identity.IdentityClient)


@pytest.fixture(scope="session")
def network(client):
    return client(oci.core.VirtualNetworkClient)


def new_compartment(identity, parent, name=None):
    """Creates a compartment and waits until it is ACTIVE."""
    ops = oci.identity.IdentityClientCompositeOperations(identity)
    details = oci.identity.models.CreateCompartmentDetails(
        compartment_id=parent, name=name or f"t-{uuid.uuid4().hex[:10]}", description="test")
    c = ops.create_compartment_and_wait_for_state(
        details, wait_for_states=["ACTIVE"],
        waiter_kwargs={"max_interval_seconds": 1, "max_wait_seconds": 60}).data
    assert c.lifecycle_state == "ACTIVE"
    return c


@pytest.fixture
def compartment(identity, tenancy):
    return new_compartment(identity, tenancy)


def wait_available(get, ocid):
    r = oci.wait_until(None, get(ocid), "lifecycle_state", "AVAILABLE",
                       max_interval_seconds=1, max_wait_seconds=60)
    assert r.data.lifecycle_state == "AVAILABLE"
    return r.data


@pytest.fixture(scope="session")
def refarch(identity, network, tenancy):
    """The reference architecture's network (domain.md): a compartment; a VCN
    with internet, NAT and service gateways; public and private route tables;
    security lists; NSGs for the API endpoint, pods, load balancer and
    database; and the API, node/pod, LB and DB subnets. Built once; other
    services' tests add their resources on top of it."""
    m = oci.core.models
    comp = new_compartment(identity, tenancy, name="refarch")
    ops = oci.core.VirtualNetworkClientCompositeOperations(network)
    vcn = ops.create_vcn_and_wait_for_state(
        m.CreateVcnDetails(compartment_id=comp.id, cidr_blocks=["10.0.0.0/16"],
                           display_name="refarch-vcn", dns_label="refarch"),
        wait_for_states=["AVAILABLE"],
        waiter_kwargs={"max_interval_seconds": 1}).data
    igw = network.create_internet_gateway(m.CreateInternetGatewayDetails(
        compartment_id=comp.id, vcn_id=vcn.id, is_enabled=True, display_name="igw")).data
    nat = network.create_nat_gateway(m.CreateNatGatewayDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="nat")).data
    services = network.list_services().data
    all_services = next(s for s in services if s.cidr_block.startswith("all-"))
    sgw = network.create_service_gateway(m.CreateServiceGatewayDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="sgw",
        services=[m.ServiceIdRequestDetails(service_id=all_services.id)])).data
    public_rt = network.create_route_table(m.CreateRouteTableDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="public",
        route_rules=[m.RouteRule(network_entity_id=igw.id, destination="0.0.0.0/0",
                                 destination_type="CIDR_BLOCK")])).data
    private_rt = network.create_route_table(m.CreateRouteTableDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="private",
        route_rules=[
            m.RouteRule(network_entity_id=nat.id, destination="0.0.0.0/0",
                        destination_type="CIDR_BLOCK"),
            m.RouteRule(network_entity_id=sgw.id, destination=all_services.cidr_block,
                        destination_type="SERVICE_CIDR_BLOCK")])).data
    tcp = lambda port: m.TcpOptions(destination_port_range=m.PortRange(min=port, max=port))  # noqa: E731
    public_sl = network.create_security_list(m.CreateSecurityListDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="public",
        ingress_security_rules=[
            m.IngressSecurityRule(protocol="6", source="0.0.0.0/0", tcp_options=tcp(443)),
            m.IngressSecurityRule(protocol="6", source="0.0.0.0/0", tcp_options=tcp(6443))],
        egress_security_rules=[m.EgressSecurityRule(protocol="all", destination="10.0.0.0/16")])).data
    private_sl = network.create_security_list(m.CreateSecurityListDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="private",
        ingress_security_rules=[m.IngressSecurityRule(protocol="all", source="10.0.0.0/16")],
        egress_security_rules=[
            m.EgressSecurityRule(protocol="all", destination="0.0.0.0/0"),
            m.EgressSecurityRule(protocol="6", destination=all_services.cidr_block,
                                 destination_type="SERVICE_CIDR_BLOCK", tcp_options=tcp(443))])).data
    nsgs = {}
    for name in ("api", "pods", "lb", "db"):
        nsgs[name] = network.create_network_security_group(m.CreateNetworkSecurityGroupDetails(
            compartment_id=comp.id, vcn_id=vcn.id, display_name=f"{name}-nsg")).data
    added = network.add_network_security_group_security_rules(
        nsgs["db"].id, m.AddNetworkSecurityGroupSecurityRulesDetails(security_rules=[
            m.AddSecurityRuleDetails(direction="INGRESS", protocol="6", source=nsgs["pods"].id,
                                     source_type="NETWORK_SECURITY_GROUP", tcp_options=tcp(3306))])).data
    assert added.security_rules[0].is_valid
    subnets = {}
    layout = {
        "api": ("10.0.0.0/28", public_rt, public_sl, False),
        "lb": ("10.0.1.0/24", public_rt, public_sl, False),
        "db": ("10.0.2.0/24", private_rt, private_sl, True),
        "pods": ("10.0.32.0/19", private_rt, private_sl, True),
    }
    for name, (cidr, rt, sl, private) in layout.items():
        subnets[name] = network.create_subnet(m.CreateSubnetDetails(
            compartment_id=comp.id, vcn_id=vcn.id, cidr_block=cidr, display_name=f"{name}-subnet",
            dns_label=name, route_table_id=rt.id, security_list_ids=[sl.id],
            prohibit_public_ip_on_vnic=private)).data
    for s in subnets.values():
        wait_available(network.get_subnet, s.id)
    return types.SimpleNamespace(
        compartment=comp, vcn=vcn, igw=igw, nat=nat, sgw=sgw, services=services,
        all_services=all_services, public_rt=public_rt, private_rt=private_rt,
        public_sl=public_sl, private_sl=private_sl, nsgs=nsgs, subnets=subnets)
