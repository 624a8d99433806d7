"""Core networking through the real SDK and CLI: VCNs and their defaults,
subnets, gateways, route tables, security lists, NSG rules, private IPs,
waiters, pagination helpers, retry tokens, etags, and every error class
(unknown OCIDs, bad and missing parameters, CIDR overlaps, limits, conflicts,
malformed JSON, wrong types, unknown enum values, oversized bodies, unknown
routes)."""

import json

import oci
import pytest
from oci._vendor import requests

from conftest import NO_RETRY, wait_available

m = oci.core.models


def vcn(network, compartment, cidr="10.0.0.0/16", **kw):
    ops = oci.core.VirtualNetworkClientCompositeOperations(network)
    return ops.create_vcn_and_wait_for_state(
        m.CreateVcnDetails(compartment_id=compartment.id, cidr_block=cidr, **kw),
        wait_for_states=["AVAILABLE"], waiter_kwargs={"max_interval_seconds": 1}).data


def raises(code, status, fn, *args, **kw):
    with pytest.raises(oci.exceptions.ServiceError) as e:
        fn(*args, retry_strategy=NO_RETRY, **kw)
    assert (e.value.status, e.value.code) == (status, code), e.value.message
    return e.value


def test_vcn_defaults_and_lifecycle(network, compartment):
    v = vcn(network, compartment, display_name="main", dns_label="main")
    assert v.lifecycle_state == "AVAILABLE" and v.cidr_blocks == ["10.0.0.0/16"]
    assert v.vcn_domain_name == "main.oraclevcn.com"
    rt = network.get_route_table(v.default_route_table_id).data
    assert rt.route_rules == [] and rt.display_name == "Default Route Table for main"
    sl = network.get_security_list(v.default_security_list_id).data
    assert [r.tcp_options.destination_port_range.min for r in sl.ingress_security_rules
            if r.tcp_options] == [22]
    dhcp = network.get_dhcp_options(v.default_dhcp_options_id).data
    assert dhcp.vcn_id == v.id and dhcp.options
    ops = oci.core.VirtualNetworkClientCompositeOperations(network)
    ops.delete_vcn_and_wait_for_state(v.id, wait_for_states=["TERMINATED"],
                                      waiter_kwargs={"max_interval_seconds": 1})
    assert network.get_vcn(v.id).data.lifecycle_state == "TERMINATED"


def test_subnets_pagination_helpers_and_filters(network, compartment):
    v = vcn(network, compartment)
    made = []
    for i in range(5):
        made.append(network.create_subnet(m.CreateSubnetDetails(
            compartment_id=compartment.id, vcn_id=v.id, cidr_block=f"10.0.{i}.0/24",
            display_name=f"s{i}")).data)
    for s in made:
        wait_available(network.get_subnet, s.id)
    everything = oci.pagination.list_call_get_all_results(
        network.list_subnets, compartment.id, vcn_id=v.id, limit=2).data
    assert sorted(s.display_name for s in everything) == [f"s{i}" for i in range(5)]
    assert len({s.id for s in everything}) == 5
    three = oci.pagination.list_call_get_up_to_limit(
        network.list_subnets, 3, 2, compartment.id, vcn_id=v.id).data
    assert len(three) == 3
    by_name = network.list_subnets(compartment.id, vcn_id=v.id, display_name="s3").data
    assert [s.id for s in by_name] == [made[3].id]
    ordered = network.list_subnets(compartment.id, vcn_id=v.id, sort_by="DISPLAYNAME",
                                   sort_order="DESC").data
    assert [s.display_name for s in ordered] == [f"s{i}" for i in reversed(range(5))]
    first = network.list_subnets(compartment.id, vcn_id=v.id, limit=5)
    assert not first.has_next_page and first.next_page is None


def test_gateways_routes_security_and_nsgs(network, compartment):
    v = vcn(network, compartment)
    igw = network.create_internet_gateway(m.CreateInternetGatewayDetails(
        compartment_id=compartment.id, vcn_id=v.id, is_enabled=True)).data
    assert igw.is_enabled
    raises("LimitExceeded", 400, network.create_internet_gateway, m.CreateInternetGatewayDetails(
        compartment_id=compartment.id, vcn_id=v.id, is_enabled=True))
    nat = network.create_nat_gateway(m.CreateNatGatewayDetails(
        compartment_id=compartment.id, vcn_id=v.id)).data
    assert nat.nat_ip and nat.block_traffic is False
    svc = network.list_services().data
    assert {s.cidr_block for s in svc} == {"all-iad-services-in-oracle-services-network",
                                          "oci-iad-objectstorage"}
    sgw = network.create_service_gateway(m.CreateServiceGatewayDetails(
        compartment_id=compartment.id, vcn_id=v.id,
        services=[m.ServiceIdRequestDetails(service_id=svc[1].id)])).data
    sgw = network.attach_service_id(sgw.id, m.ServiceIdRequestDetails(service_id=svc[0].id)).data
    assert {s.service_id for s in sgw.services} == {svc[0].id, svc[1].id}
    sgw = network.detach_service_id(sgw.id, m.ServiceIdRequestDetails(service_id=svc[1].id)).data
    assert [s.service_name for s in sgw.services] == [svc[0].name]
    rt = network.create_route_table(m.CreateRouteTableDetails(
        compartment_id=compartment.id, vcn_id=v.id, route_rules=[
            m.RouteRule(network_entity_id=igw.id, destination="0.0.0.0/0",
                        destination_type="CIDR_BLOCK")])).data
    assert rt.route_rules[0].network_entity_id == igw.id
    e = raises("Conflict", 409, network.delete_internet_gateway, igw.id)
    assert rt.id in e.message
    rt = network.update_route_table(rt.id, m.UpdateRouteTableDetails(route_rules=[
        m.RouteRule(network_entity_id=nat.id, destination="0.0.0.0/0",
                    destination_type="CIDR_BLOCK")])).data
    assert rt.route_rules[0].network_entity_id == nat.id
    network.delete_internet_gateway(igw.id)
    nsg = network.create_network_security_group(m.CreateNetworkSecurityGroupDetails(
        compartment_id=compartment.id, vcn_id=v.id, display_name="app")).data
    added = network.add_network_security_group_security_rules(
        nsg.id, m.AddNetworkSecurityGroupSecurityRulesDetails(security_rules=[
            m.AddSecurityRuleDetails(direction="INGRESS", protocol="6", source="10.0.0.0/16",
                                     tcp_options=m.TcpOptions(destination_port_range=m.PortRange(
                                         min=8080, max=8080))),
            m.AddSecurityRuleDetails(direction="EGRESS", protocol="all",
                                     destination="0.0.0.0/0")])).data.security_rules
    assert len(added) == 2 and all(r.id and r.is_valid for r in added)
    ingress = network.list_network_security_group_security_rules(nsg.id, direction="INGRESS").data
    assert [r.tcp_options.destination_port_range.max for r in ingress] == [8080]
    network.update_network_security_group_security_rules(
        nsg.id, m.UpdateNetworkSecurityGroupSecurityRulesDetails(security_rules=[
            m.UpdateSecurityRuleDetails(id=added[0].id, direction="INGRESS", protocol="17",
                                        source="10.0.0.0/16")]))
    rules = network.list_network_security_group_security_rules(nsg.id).data
    assert sorted(r.protocol for r in rules) == ["17", "all"]
    network.remove_network_security_group_security_rules(
        nsg.id, m.RemoveNetworkSecurityGroupSecurityRulesDetails(security_rule_ids=[added[1].id]))
    assert len(network.list_network_security_group_security_rules(nsg.id).data) == 1


def test_private_ips_and_subnet_dependencies(network, compartment):
    v = vcn(network, compartment)
    s = network.create_subnet(m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id, cidr_block="10.0.9.0/28")).data
    ips = [network.create_private_ip(m.CreatePrivateIpDetails(subnet_id=s.id)).data
           for _ in range(3)]
    assert [ip.ip_address for ip in ips] == ["10.0.9.2", "10.0.9.3", "10.0.9.4"]
    listed = network.list_private_ips(subnet_id=s.id).data
    assert [ip.id for ip in listed] == [ip.id for ip in ips]
    e = raises("Conflict", 409, network.delete_subnet, s.id)
    assert "3 address(es)" in e.message
    e = raises("Conflict", 409, network.delete_vcn, v.id)
    assert "subnet" in e.message
    for ip in ips:
        network.delete_private_ip(ip.id)
    raises("NotAuthorizedOrNotFound", 404, network.get_private_ip, ips[0].id)
    network.delete_subnet(s.id)


def test_errors_as_oci_returns_them(network, compartment, client, oci_config, endpoint):
    v = vcn(network, compartment)
    raises("NotAuthorizedOrNotFound", 404, network.get_vcn, "ocid1.vcn.oc1.iad.doesnotexist")
    e = raises("InvalidParameter", 400, network.create_subnet, m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id, cidr_block="10.1.0.0/24"))
    assert e.message.startswith("cidrBlock:") and "not inside" in e.message
    network.create_subnet(m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id, cidr_block="10.0.0.0/24"))
    e = raises("InvalidParameter", 400, network.create_subnet, m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id, cidr_block="10.0.0.128/25"))
    assert "overlaps" in e.message
    e = raises("MissingParameter", 400, network.create_subnet, m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id))
    assert "cidrBlock" in e.message
    e = raises("LimitExceeded", 400, network.create_subnet, m.CreateSubnetDetails(
        compartment_id=compartment.id, vcn_id=v.id, cidr_block="10.0.1.0/24",
        security_list_ids=[v.default_security_list_id] * 6))
    etag = network.get_vcn(v.id).headers["etag"]
    raises("NoEtagMatch", 412, network.update_vcn, v.id, m.UpdateVcnDetails(display_name="x"),
           if_match="wrong")
    assert network.update_vcn(v.id, m.UpdateVcnDetails(display_name="x"),
                              if_match=etag).data.display_name == "x"
    # Retry tokens: same token and request -> same VCN; another request -> 409.
    details = m.CreateVcnDetails(compartment_id=compartment.id, cidr_block="10.5.0.0/16")
    a = network.create_vcn(details, opc_retry_token="token-a").data
    b = network.create_vcn(details, opc_retry_token="token-a").data
    assert a.id == b.id
    raises("InvalidatedRetryToken", 409, network.create_vcn,
           m.CreateVcnDetails(compartment_id=compartment.id, cidr_block="10.6.0.0/16"),
           opc_retry_token="token-a")
    # What the SDK would never send: raw signed requests.
    cfg = {k: v for k, v in oci_config.items() if k != "path"}
    signer = oci.signer.Signer(cfg["tenancy"], cfg["user"], cfg["fingerprint"], cfg["key_file"])
    url = endpoint + "/20160918/vcns"
    hdr = {"content-type": "application/json"}
    r = requests.post(url, data="{not json", headers=hdr, auth=signer)
    assert (r.status_code, r.json()["code"]) == (400, "CannotParseRequest")
    r = requests.post(url, data=json.dumps({"compartmentId": compartment.id, "cidrBlock": 16}),
                      headers=hdr, auth=signer)
    assert (r.status_code, r.json()["code"]) == (400, "InvalidParameter")
    assert r.json()["message"].startswith("cidrBlock:")
    r = requests.post(endpoint + "/20160918/routeTables", headers=hdr, auth=signer, data=json.dumps({
        "compartmentId": compartment.id, "vcnId": v.id,
        "routeRules": [{"networkEntityId": "x", "destination": "0.0.0.0/0",
                        "destinationType": "EVERYWHERE"}]}))
    assert r.status_code == 400 and r.json()["message"].startswith("routeRules[0].destinationType")
    r = requests.post(url, data="x" * (2 << 20), headers=hdr, auth=signer)
    assert (r.status_code, r.json()["code"]) == (413, "PayloadTooLarge")
    r = requests.get(endpoint + "/20160918/nosuchthing", auth=signer)
    assert (r.status_code, r.json()["code"]) == (404, "NotFound")
    assert r.headers["opc-request-id"]


def test_cli_network_with_wait_and_all(cli, compartment):
    v = cli("network", "vcn", "create", "--compartment-id", compartment.id,
            "--cidr-block", "10.0.0.0/16", "--display-name", "cli-vcn",
            "--wait-for-state", "AVAILABLE", "--wait-interval-seconds", "1")
    assert v["data"]["lifecycle-state"] == "AVAILABLE" and v["etag"]
    for i in range(2):
        s = cli("network", "subnet", "create", "--compartment-id", compartment.id,
                "--vcn-id", v["data"]["id"], "--cidr-block", f"10.0.{i}.0/24")
        assert s["data"]["cidr-block"] == f"10.0.{i}.0/24"
    listed = cli("network", "subnet", "list", "--compartment-id", compartment.id,
                 "--vcn-id", v["data"]["id"], "--all", "--page-size", "1")
    assert sorted(s["cidr-block"] for s in listed["data"]) == [f"10.0.{i}.0/24" for i in range(2)]
    err = cli.fails("network", "vcn", "get", "--vcn-id", "ocid1.vcn.oc1.iad.nope", "--no-retry")
    assert (err["status"], err["code"]) == (404, "NotAuthorizedOrNotFound")
    err = cli.fails("network", "subnet", "create", "--compartment-id", compartment.id,
                    "--vcn-id", v["data"]["id"], "--cidr-block", "10.0.0.0/25", "--no-retry")
    assert err["code"] == "InvalidParameter" and "overlaps" in err["message"]
