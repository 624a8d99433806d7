"""The reference architecture, built through the SDK against the twin.

The `refarch` fixture (conftest.py) builds the network once per session:
compartment, VCN, internet/NAT/service gateways, public and private route
tables and security lists, NSGs, and the API, LB, DB and pod subnets. This
file checks that network. Each other service adds its own file on top of the
same fixture, e.g. `test_refarch_oke.py` (enhanced cluster and a virtual node
pool over the three FDs in `refarch.subnets["pods"]`), `test_refarch_vault.py`
(vault, key, secret, the bundle by name), `test_refarch_lb.py`,
`test_refarch_mysql.py`, `test_refarch_artifacts.py`, so nobody edits this one.
"""

import oci


def test_network_of_the_reference_architecture(refarch, network, identity, tenancy):
    comp = refarch.compartment
    names = [c.name for c in identity.list_compartments(tenancy, name="refarch").data]
    assert names == ["refarch"]
    vcn = network.get_vcn(refarch.vcn.id).data
    assert vcn.lifecycle_state == "AVAILABLE" and vcn.vcn_domain_name == "refarch.oraclevcn.com"
    subnets = oci.pagination.list_call_get_all_results(
        network.list_subnets, comp.id, vcn_id=vcn.id).data
    assert {s.display_name: s.cidr_block for s in subnets} == {
        "api-subnet": "10.0.0.0/28", "lb-subnet": "10.0.1.0/24",
        "db-subnet": "10.0.2.0/24", "pods-subnet": "10.0.32.0/19"}
    for s in subnets:
        assert s.lifecycle_state == "AVAILABLE"
        private = s.display_name in ("db-subnet", "pods-subnet")
        assert s.prohibit_public_ip_on_vnic is private
        assert s.route_table_id == (refarch.private_rt.id if private else refarch.public_rt.id)
        assert s.availability_domain is None, "regional subnets"
        assert s.subnet_domain_name.endswith(".refarch.oraclevcn.com")
    rts = {r.display_name: r for r in network.list_route_tables(comp.id, vcn_id=vcn.id).data}
    assert set(rts) == {"public", "private", "Default Route Table for refarch-vcn"}
    private_targets = {r.network_entity_id for r in rts["private"].route_rules}
    assert private_targets == {refarch.nat.id, refarch.sgw.id}
    sgw = network.get_service_gateway(refarch.sgw.id).data
    assert [s.service_id for s in sgw.services] == [refarch.all_services.id]
    gateways = (network.list_internet_gateways(comp.id, vcn_id=vcn.id).data
                + network.list_nat_gateways(comp.id, vcn_id=vcn.id).data
                + network.list_service_gateways(comp.id, vcn_id=vcn.id).data)
    assert len(gateways) == 3
    nsgs = network.list_network_security_groups(compartment_id=comp.id, vcn_id=vcn.id).data
    assert sorted(n.display_name for n in nsgs) == ["api-nsg", "db-nsg", "lb-nsg", "pods-nsg"]
    db_rules = network.list_network_security_group_security_rules(refarch.nsgs["db"].id).data
    assert [(r.source, r.tcp_options.destination_port_range.min) for r in db_rules] == [
        (refarch.nsgs["pods"].id, 3306)]
    # The compartment holds resources, so it cannot be deleted.
    try:
        identity.delete_compartment(comp.id, retry_strategy=oci.retry.NoneRetryStrategy())
        raise AssertionError("a compartment with resources was deleted")
    except oci.exceptions.ServiceError as e:
        assert (e.status, e.code) == (409, "Conflict")
