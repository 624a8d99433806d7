"""The operations issue 3 added, through the real SDK and CLI: DHCP options
create/update/delete with their rules, the VNICs of an NSG (and its delete
refused while they are in it), load balancer NSG updates, KMS Encrypt /
Decrypt / GenerateDataEncryptionKey on the vault's crypto endpoint, OKE
work-request cancellation, and MySQL custom configurations with a DB system
using one. Every call's result is checked; errors are the ServiceError OCI
returns (status and code)."""

import base64
import uuid

import oci
import pytest

from conftest import NO_RETRY, Cli, _http, new_compartment, wait_available

cm = oci.core.models
km = oci.key_management.models
WAIT = {"max_interval_seconds": 1, "max_wait_seconds": 120}


def raises(code, status, fn, *args, **kw):
    with pytest.raises(oci.exceptions.ServiceError) as e:
        fn(*args, retry_strategy=NO_RETRY, **kw)
    assert (e.value.status, e.value.code) == (status, code), e.value.message
    return e.value


def b64(data):
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------- DHCP options

def test_dhcp_options_lifecycle_and_rules(network, compartment, cli):
    ops = oci.core.VirtualNetworkClientCompositeOperations(network)
    vcn = ops.create_vcn_and_wait_for_state(
        cm.CreateVcnDetails(compartment_id=compartment.id, cidr_block="10.8.0.0/16",
                            display_name="dhcp-vcn", dns_label="dhcpvcn"),
        wait_for_states=["AVAILABLE"], waiter_kwargs=WAIT).data
    d = network.create_dhcp_options(cm.CreateDhcpDetails(
        compartment_id=compartment.id, vcn_id=vcn.id, display_name="corp",
        options=[cm.DhcpDnsOption(server_type="CustomDnsServer",
                                  custom_dns_servers=["10.8.0.53"]),
                 cm.DhcpSearchDomainOption(search_domain_names=["corp.example.com"])])).data
    assert d.lifecycle_state == "PROVISIONING" and d.vcn_id == vcn.id
    dns, search = d.options
    assert isinstance(dns, cm.DhcpDnsOption) and dns.custom_dns_servers == ["10.8.0.53"]
    assert isinstance(search, cm.DhcpSearchDomainOption)
    assert search.search_domain_names == ["corp.example.com"]
    wait_available(network.get_dhcp_options, d.id)
    # The rules: four custom servers, an empty search domain list.
    bad = raises("InvalidParameter", 400, network.create_dhcp_options, cm.CreateDhcpDetails(
        compartment_id=compartment.id, vcn_id=vcn.id,
        options=[cm.DhcpDnsOption(server_type="CustomDnsServer",
                                  custom_dns_servers=["1.1.1.1", "1.0.0.1", "8.8.8.8", "8.8.4.4"])]))
    assert "customDnsServers" in bad.message
    raises("InvalidParameter", 400, network.create_dhcp_options, cm.CreateDhcpDetails(
        compartment_id=compartment.id, vcn_id=vcn.id,
        options=[cm.DhcpDnsOption(server_type="VcnLocalPlusInternet"),
                 cm.DhcpSearchDomainOption(search_domain_names=[])]))
    u = network.update_dhcp_options(d.id, cm.UpdateDhcpDetails(
        display_name="resolver", options=[cm.DhcpDnsOption(server_type="VcnLocalPlusInternet")])).data
    assert u.display_name == "resolver"
    assert [o.server_type for o in u.options] == ["VcnLocalPlusInternet"]
    listed = cli("network", "dhcp-options", "list", "--compartment-id", compartment.id,
                 "--vcn-id", vcn.id, "--all")["data"]
    assert sorted(x["display-name"] for x in listed) == sorted(
        ["resolver", "Default DHCP Options for dhcp-vcn"])
    # The VCN's default options go only with the VCN: 409 Conflict, no retry.
    raises("Conflict", 409, network.delete_dhcp_options, vcn.default_dhcp_options_id)
    network.delete_dhcp_options(d.id)
    gone = oci.wait_until(network, network.get_dhcp_options(d.id), "lifecycle_state",
                          "TERMINATED", **WAIT).data
    assert gone.lifecycle_state == "TERMINATED"


# ---------------------------------------------------------------- NSG VNICs

@pytest.fixture(scope="module")
def own(identity, network, tenancy):
    """A compartment of this module's own with a VCN and two subnets, so the
    shared reference architecture's lists are not changed."""
    comp = new_compartment(identity, tenancy, name=f"ops-{uuid.uuid4().hex[:6]}")
    ops = oci.core.VirtualNetworkClientCompositeOperations(network)
    vcn = ops.create_vcn_and_wait_for_state(
        cm.CreateVcnDetails(compartment_id=comp.id, cidr_block="10.20.0.0/16",
                            display_name="ops-vcn"),
        wait_for_states=["AVAILABLE"], waiter_kwargs=WAIT).data
    subnets = {name: network.create_subnet(cm.CreateSubnetDetails(
        compartment_id=comp.id, vcn_id=vcn.id, cidr_block=cidr, display_name=name)).data
        for name, cidr in (("lb", "10.20.1.0/24"), ("db", "10.20.2.0/24"))}
    for sub in subnets.values():
        wait_available(network.get_subnet, sub.id)
    return comp, vcn, subnets


def test_nsg_vnics_of_a_load_balancer(network, client, own):
    comp, vcn, subnets = own
    lbc = client(oci.load_balancer.LoadBalancerClient)
    nsg = network.create_network_security_group(cm.CreateNetworkSecurityGroupDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="edge")).data
    assert network.list_network_security_group_vnics(nsg.id).data == []
    lm = oci.load_balancer.models
    ops = oci.load_balancer.LoadBalancerClientCompositeOperations(lbc)
    lb = ops.create_load_balancer_and_wait_for_state(
        lm.CreateLoadBalancerDetails(
            compartment_id=comp.id, display_name="edge-lb", shape_name="flexible",
            shape_details=lm.ShapeDetails(minimum_bandwidth_in_mbps=10,
                                          maximum_bandwidth_in_mbps=10),
            subnet_ids=[subnets["lb"].id], network_security_group_ids=[nsg.id]),
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    [v] = oci.pagination.list_call_get_all_results(
        network.list_network_security_group_vnics, nsg.id,
        sort_by="TIMEASSOCIATED", sort_order="ASC").data
    assert isinstance(v, cm.NetworkSecurityGroupVnic)
    assert v.resource_id == lb.id and v.vnic_id.startswith("ocid1.vnic.")
    assert v.time_associated is not None
    vnic = network.get_vnic(v.vnic_id).data
    assert vnic.nsg_ids == [nsg.id] and vnic.subnet_id == subnets["lb"].id
    assert vnic.private_ip.startswith("10.20.1.")  # the LB subnet's 10.20.1.0/24
    page = network.list_network_security_group_vnics(nsg.id, limit=1)
    assert [x.vnic_id for x in page.data] == [v.vnic_id] and page.next_page is None
    ops.delete_load_balancer_and_wait_for_state(lb.id, wait_for_states=["SUCCEEDED"],
                                                waiter_kwargs=WAIT)
    assert network.list_network_security_group_vnics(nsg.id).data == []


def test_lb_update_network_security_groups_and_an_nsg_in_use(network, client, own):
    comp, vcn, subnets = own
    lbc = client(oci.load_balancer.LoadBalancerClient)
    lm = oci.load_balancer.models
    ops = oci.load_balancer.LoadBalancerClientCompositeOperations(lbc)
    a, b = (network.create_network_security_group(cm.CreateNetworkSecurityGroupDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name=name)).data for name in ("a", "b"))
    lb_id = ops.create_load_balancer_and_wait_for_state(
        lm.CreateLoadBalancerDetails(
            compartment_id=comp.id, display_name="nsg-lb", shape_name="flexible",
            shape_details=lm.ShapeDetails(minimum_bandwidth_in_mbps=10,
                                          maximum_bandwidth_in_mbps=10),
            subnet_ids=[subnets["lb"].id], network_security_group_ids=[a.id]),
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data.id
    [v] = network.list_network_security_group_vnics(a.id).data
    # The LB's VNIC is in `a`: deleting it is 409 Conflict naming both.
    err = raises("Conflict", 409, network.delete_network_security_group, a.id)
    assert a.id in err.message and v.vnic_id in err.message and lb_id in err.message
    # Moved to `b` by the LB's own work request (the SDK waiter on it).
    w = ops.update_network_security_groups_and_wait_for_state(
        lm.UpdateNetworkSecurityGroupsDetails(network_security_group_ids=[b.id]), lb_id,
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    assert w.type == "UpdateNetworkSecurityGroups" and w.load_balancer_id == lb_id
    assert lbc.get_load_balancer(lb_id).data.network_security_group_ids == [b.id]
    assert network.get_vnic(v.vnic_id).data.nsg_ids == [b.id]
    assert network.list_network_security_group_vnics(a.id).data == []
    assert network.delete_network_security_group(a.id).status == 204
    # A bad id is 400 naming the element; an empty list removes every NSG,
    # waited on through the work request id the reply carries.
    err = raises("InvalidParameter", 400, lbc.update_network_security_groups,
                 lm.UpdateNetworkSecurityGroupsDetails(
                     network_security_group_ids=["ocid1.networksecuritygroup.oc1.iad.none"]),
                 lb_id)
    assert err.message.startswith("networkSecurityGroupIds[0]")
    r = lbc.update_network_security_groups(
        lm.UpdateNetworkSecurityGroupsDetails(network_security_group_ids=[]), lb_id)
    wr_id = r.headers["opc-work-request-id"]
    done = oci.wait_until(lbc, lbc.get_work_request(wr_id), "lifecycle_state", "SUCCEEDED",
                          **WAIT).data
    assert done.id == wr_id
    assert lbc.get_load_balancer(lb_id).data.network_security_group_ids == []
    assert network.get_vnic(v.vnic_id).data.nsg_ids == []
    network.delete_network_security_group(b.id)
    ops.delete_load_balancer_and_wait_for_state(lb_id, wait_for_states=["SUCCEEDED"],
                                                waiter_kwargs=WAIT)


# ---------------------------------------------------------------- KMS crypto

@pytest.fixture(scope="module")
def crypto_key(client, oci_config, tenancy):
    kms = client(oci.key_management.KmsVaultClient)
    vault = oci.key_management.KmsVaultClientCompositeOperations(kms).create_vault_and_wait_for_state(
        km.CreateVaultDetails(compartment_id=tenancy, display_name="crypto-vault",
                              vault_type="DEFAULT"),
        wait_for_states=["ACTIVE"], waiter_kwargs=WAIT).data
    cfg = {k: v for k, v in oci_config.items() if k != "path"}
    mgmt = oci.key_management.KmsManagementClient(cfg, service_endpoint=vault.management_endpoint)
    ops = oci.key_management.KmsManagementClientCompositeOperations(mgmt)
    keys = [ops.create_key_and_wait_for_state(
        km.CreateKeyDetails(compartment_id=tenancy, display_name=name,
                            key_shape=km.KeyShape(algorithm="AES", length=32)),
        wait_for_states=["ENABLED"], waiter_kwargs=WAIT).data for name in ("a", "b")]
    crypto = oci.key_management.KmsCryptoClient(cfg, service_endpoint=vault.crypto_endpoint)
    return vault, mgmt, crypto, keys


def test_encrypt_decrypt_round_trip_and_refusals(crypto_key):
    vault, mgmt, crypto, (a, b) = crypto_key
    ctx = {"app": "orders"}
    e = crypto.encrypt(km.EncryptDataDetails(key_id=a.id, plaintext=b64(b"card 4111"),
                                             associated_data=ctx)).data
    assert e.key_id == a.id and e.key_version_id == a.current_key_version
    assert e.encryption_algorithm == "AES_256_GCM"
    d = crypto.decrypt(km.DecryptDataDetails(key_id=a.id, ciphertext=e.ciphertext,
                                             associated_data=ctx)).data
    assert base64.b64decode(d.plaintext) == b"card 4111"
    assert d.plaintext_checksum and d.key_version_id == a.current_key_version
    # Another key, other associated data, a tampered ciphertext.
    raw = bytearray(base64.b64decode(e.ciphertext))
    raw[-1] ^= 1
    for details in (
            km.DecryptDataDetails(key_id=b.id, ciphertext=e.ciphertext, associated_data=ctx),
            km.DecryptDataDetails(key_id=a.id, ciphertext=e.ciphertext),
            km.DecryptDataDetails(key_id=a.id, ciphertext=b64(bytes(raw)), associated_data=ctx)):
        err = raises("InvalidParameter", 400, crypto.decrypt, details)
        assert err.message.startswith("ciphertext:")
    # A data encryption key: the wrapped copy decrypts to the plaintext copy.
    g = crypto.generate_data_encryption_key(km.GenerateKeyDetails(
        key_id=a.id, include_plaintext_key=True,
        key_shape=km.KeyShape(algorithm="AES", length=32))).data
    assert len(base64.b64decode(g.plaintext)) == 32
    back = crypto.decrypt(km.DecryptDataDetails(key_id=a.id, ciphertext=g.ciphertext)).data
    assert back.plaintext == g.plaintext and back.plaintext_checksum == g.plaintext_checksum
    # A disabled key is refused.
    ops = oci.key_management.KmsManagementClientCompositeOperations(mgmt)
    ops.disable_key_and_wait_for_state(b.id, wait_for_states=["DISABLED"], waiter_kwargs=WAIT)
    err = raises("InvalidParameter", 400, crypto.encrypt,
                 km.EncryptDataDetails(key_id=b.id, plaintext=b64(b"x")))
    assert "DISABLED" in err.message


def test_cli_kms_crypto_round_trip(crypto_key, oci_config):
    vault, _, _, (a, _) = crypto_key
    cli = Cli(oci_config["path"], vault.crypto_endpoint)
    e = cli("kms", "crypto", "encrypt", "--key-id", a.id, "--plaintext", b64(b"hello cli"))["data"]
    assert e["key-id"] == a.id and e["ciphertext"]
    d = cli("kms", "crypto", "decrypt", "--key-id", a.id, "--ciphertext", e["ciphertext"])["data"]
    assert base64.b64decode(d["plaintext"]) == b"hello cli"


# ---------------------------------------------------------------- OKE cancel

def test_oke_work_request_cancel(start_server, oci_config):
    # A server of its own whose work requests wait an hour before starting,
    # so the cancel reaches one that has not started.
    s = start_server()
    status, body = _http("PUT", s.url + "/_ocisim/durations", {"workrequest.accept": "1h"})
    assert status == 200, body
    cfg = {k: v for k, v in oci_config.items() if k != "path"}
    _, health = _http("GET", s.url + "/_ocisim/health")
    tenancy = health["tenancyId"]
    cfg["tenancy"] = tenancy
    net = oci.core.VirtualNetworkClient(cfg, service_endpoint=s.url)
    ce = oci.container_engine.ContainerEngineClient(cfg, service_endpoint=s.url)
    vcn = net.create_vcn(cm.CreateVcnDetails(compartment_id=tenancy, cidr_block="10.9.0.0/16")).data
    sub = net.create_subnet(cm.CreateSubnetDetails(compartment_id=tenancy, vcn_id=vcn.id,
                                                   cidr_block="10.9.0.0/28")).data
    em = oci.container_engine.models
    r = ce.create_cluster(em.CreateClusterDetails(
        name="c", compartment_id=tenancy, vcn_id=vcn.id, kubernetes_version="v1.34.1",
        type="ENHANCED_CLUSTER", endpoint_config=em.CreateClusterEndpointConfigDetails(subnet_id=sub.id),
        cluster_pod_network_options=[em.OciVcnIpNativeClusterPodNetworkOptionDetails(
            cni_type="OCI_VCN_IP_NATIVE")]))
    wr_id = r.headers["opc-work-request-id"]
    assert ce.get_work_request(wr_id).data.status == "ACCEPTED"
    d = ce.delete_work_request(wr_id)
    assert d.status == 204
    w = oci.wait_until(ce, ce.get_work_request(wr_id), "status", "CANCELED", **WAIT).data
    assert w.resources[0].action_type == "CANCELED_CREATE"
    cluster = ce.get_cluster(w.resources[0].identifier).data
    assert cluster.lifecycle_state == "FAILED"
    # Finished now: 409 Conflict, which the SDK does not retry.
    err = raises("Conflict", 409, ce.delete_work_request, wr_id)
    assert "CANCELED" in err.message
    raises("NotAuthorizedOrNotFound", 404, ce.delete_work_request,
           "ocid1.clustersworkrequest.oc1.iad.none")


# ---------------------------------------------------------------- MySQL configurations

def test_mysql_custom_configuration_and_db_system(client, own):
    mm = oci.mysql.models
    cfgs = client(oci.mysql.MysqlaasClient)
    comp = own[0].id
    parent = cfgs.create_configuration(mm.CreateConfigurationDetails(
        compartment_id=comp, shape_name="MySQL.2", display_name=f"base-{uuid.uuid4().hex[:6]}",
        variables=mm.ConfigurationVariables(max_connections=500, sql_require_primary_key=True))).data
    assert parent.type == "CUSTOM" and parent.lifecycle_state == "ACTIVE"
    child = cfgs.create_configuration(mm.CreateConfigurationDetails(
        compartment_id=comp, shape_name="MySQL.2", display_name="app",
        parent_configuration_id=parent.id,
        variables=mm.ConfigurationVariables(max_connections=800))).data
    assert child.parent_configuration_id == parent.id
    assert child.variables.max_connections == 800 and child.variables.sql_require_primary_key
    got = cfgs.get_configuration(child.id)
    assert got.data.id == child.id and got.headers["etag"]
    customs = oci.pagination.list_call_get_all_results(
        cfgs.list_configurations, comp, type=["CUSTOM"], sort_by="displayName").data
    assert [c.id for c in customs if c.id in (parent.id, child.id)] == [child.id, parent.id]
    u = cfgs.update_configuration(child.id, mm.UpdateConfigurationDetails(
        display_name="app-v2", description="tuned")).data
    assert (u.display_name, u.description) == ("app-v2", "tuned")
    dbc = client(oci.mysql.DbSystemClient)
    details = mm.CreateDbSystemDetails(
        compartment_id=comp, display_name="cfg-db", shape_name="MySQL.4",
        subnet_id=own[2]["db"].id, configuration_id=child.id,
        admin_username="admin", admin_password="Sup3r-secret!", data_storage_size_in_gbs=50)
    err = raises("InvalidParameter", 400, dbc.create_db_system, details)
    assert "is for shape MySQL.2" in err.message
    details.shape_name = "MySQL.2"
    db = dbc.create_db_system(details).data
    assert db.configuration_id == child.id
    db = oci.wait_until(dbc, dbc.get_db_system(db.id), "lifecycle_state", "ACTIVE",
                        max_interval_seconds=1, max_wait_seconds=300).data
    assert db.configuration_id == child.id
    raises("Conflict", 409, cfgs.delete_configuration, child.id)
    dbc.delete_db_system(db.id)
    gone = oci.wait_until(dbc, dbc.get_db_system(db.id), "lifecycle_state", "DELETED",
                          max_interval_seconds=1, max_wait_seconds=300).data
    assert gone.lifecycle_state == "DELETED"
    cfgs.delete_configuration(child.id)
    assert cfgs.get_configuration(child.id).data.lifecycle_state == "DELETED"


# ---------------------------------------------------------------- OKE endpoint config, NSG checks

def test_cluster_endpoint_config_update_with_sdk_waiter(network, client, own):
    comp, vcn, _ = own
    ce = client(oci.container_engine.ContainerEngineClient)
    em = oci.container_engine.models
    api = network.create_subnet(cm.CreateSubnetDetails(
        compartment_id=comp.id, vcn_id=vcn.id, cidr_block="10.20.3.0/28",
        display_name="k8s-api")).data
    wait_available(network.get_subnet, api.id)
    nsg = network.create_network_security_group(cm.CreateNetworkSecurityGroupDetails(
        compartment_id=comp.id, vcn_id=vcn.id, display_name="k8s-api")).data
    ops = oci.container_engine.ContainerEngineClientCompositeOperations(ce)
    wr = ops.create_cluster_and_wait_for_state(
        em.CreateClusterDetails(
            name="ops", compartment_id=comp.id, vcn_id=vcn.id, kubernetes_version="v1.34.1",
            type="ENHANCED_CLUSTER",
            endpoint_config=em.CreateClusterEndpointConfigDetails(subnet_id=api.id),
            cluster_pod_network_options=[em.OciVcnIpNativeClusterPodNetworkOptionDetails(
                cni_type="OCI_VCN_IP_NATIVE")]),
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    cluster_id = wr.resources[0].identifier
    before = ce.get_cluster(cluster_id).data
    assert before.endpoint_config.nsg_ids == [] and before.endpoints.public_endpoint is None
    # An NSG that does not exist: 400 naming the element, nothing changes.
    err = raises("InvalidParameter", 400, ce.update_cluster_endpoint_config, cluster_id,
                 em.UpdateClusterEndpointConfigDetails(
                     nsg_ids=["ocid1.networksecuritygroup.oc1.iad.none"]))
    assert err.message.startswith("nsgIds[0]")
    w = ops.update_cluster_endpoint_config_and_wait_for_state(
        cluster_id, em.UpdateClusterEndpointConfigDetails(nsg_ids=[nsg.id],
                                                          is_public_ip_enabled=True),
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    assert w.operation_type == "CLUSTER_UPDATE"
    after = ce.get_cluster(cluster_id).data
    assert after.lifecycle_state == "ACTIVE"
    assert after.endpoint_config.nsg_ids == [nsg.id]
    assert after.endpoint_config.is_public_ip_enabled is True
    assert after.endpoints.public_endpoint.endswith(":6443")
    # The endpoint is in the NSG now: it cannot be deleted.
    err = raises("Conflict", 409, network.delete_network_security_group, nsg.id)
    assert cluster_id in err.message and nsg.id in err.message
    # A load balancer naming an NSG of another VCN is refused before anything is made.
    other = network.create_vcn(cm.CreateVcnDetails(
        compartment_id=comp.id, cidr_block="10.21.0.0/16", display_name="other")).data
    far = network.create_network_security_group(cm.CreateNetworkSecurityGroupDetails(
        compartment_id=comp.id, vcn_id=other.id, display_name="far")).data
    lbc = client(oci.load_balancer.LoadBalancerClient)
    lm = oci.load_balancer.models
    err = raises("InvalidParameter", 400, lbc.create_load_balancer, lm.CreateLoadBalancerDetails(
        compartment_id=comp.id, display_name="x", shape_name="flexible",
        shape_details=lm.ShapeDetails(minimum_bandwidth_in_mbps=10,
                                      maximum_bandwidth_in_mbps=10),
        subnet_ids=[own[2]["lb"].id], network_security_group_ids=[far.id]))
    assert err.message.startswith("networkSecurityGroupIds[0]") and "not in" in err.message


def test_cancel_secret_rotation_of_an_unknown_secret_is_404(client):
    vaults = client(oci.vault.VaultsClient)
    raises("NotAuthorizedOrNotFound", 404, vaults.cancel_secret_rotation,
           "ocid1.vaultsecret.oc1.iad.none")
