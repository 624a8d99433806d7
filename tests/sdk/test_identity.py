"""Identity through the real SDK and CLI: regions, tenancy, ADs and FDs,
compartments (nesting, subtree listing, pagination, etags, errors) and
DeleteCompartment's work request."""

import uuid

import oci
import pytest

from conftest import NO_RETRY, new_compartment


def test_regions_tenancy_and_domains(identity, cli, tenancy):
    regions = identity.list_regions().data
    assert {"key": "IAD", "name": "us-ashburn-1"} in [{"key": r.key, "name": r.name} for r in regions]
    assert cli("iam", "region", "list")["data"] == [
        {"key": r.key, "name": r.name} for r in regions]
    t = identity.get_tenancy(tenancy).data
    assert t.id == tenancy and t.home_region_key == "IAD"
    subs = identity.list_region_subscriptions(tenancy).data
    assert [(s.region_name, s.is_home_region, s.status) for s in subs] == [
        ("us-ashburn-1", True, "READY")]
    ads = identity.list_availability_domains(tenancy).data
    assert [a.name for a in ads] == [f"Uocm:US-ASHBURN-AD-{n}" for n in (1, 2, 3)]
    assert all(a.id.startswith("ocid1.availabilitydomain.oc1..") for a in ads)
    fds = identity.list_fault_domains(tenancy, ads[1].name).data
    assert [(f.name, f.availability_domain) for f in fds] == [
        (f"FAULT-DOMAIN-{n}", ads[1].name) for n in (1, 2, 3)]
    cli_ads = cli("iam", "availability-domain", "list", "--compartment-id", tenancy)["data"]
    assert [a["name"] for a in cli_ads] == [a.name for a in ads]


def test_compartments_nest_list_and_page(identity, tenancy):
    parent = new_compartment(identity, tenancy)
    assert parent.compartment_id == tenancy
    kids = [new_compartment(identity, parent.id, name=f"kid{i}") for i in range(3)]
    grandchild = new_compartment(identity, kids[0].id, name="deep")
    listed = oci.pagination.list_call_get_all_results(
        identity.list_compartments, parent.id, limit=2).data
    assert sorted(c.name for c in listed) == ["kid0", "kid1", "kid2"]
    # The whole tree from the tenancy holds the grandchild too.
    tree = oci.pagination.list_call_get_all_results(
        identity.list_compartments, tenancy, compartment_id_in_subtree=True,
        access_level="ANY", limit=3).data
    assert {parent.id, grandchild.id} <= {c.id for c in tree}
    first_page = identity.list_compartments(parent.id, limit=2)
    assert len(first_page.data) == 2 and first_page.has_next_page
    last = identity.list_compartments(parent.id, limit=2, page=first_page.next_page)
    assert len(last.data) == 1 and not last.has_next_page
    by_name = identity.list_compartments(parent.id, name="kid1").data
    assert [c.id for c in by_name] == [kids[1].id]
    up_to = oci.pagination.list_call_get_up_to_limit(
        identity.list_compartments, 2, 1, parent.id).data
    assert len(up_to) == 2


def test_compartment_update_etag_and_errors(identity, tenancy):
    c = new_compartment(identity, tenancy)
    got = identity.get_compartment(c.id)
    assert got.headers["etag"]
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.update_compartment(
            c.id, oci.identity.models.UpdateCompartmentDetails(description="x"),
            if_match="not-the-etag", retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (412, "NoEtagMatch")
    upd = identity.update_compartment(
        c.id, oci.identity.models.UpdateCompartmentDetails(description="new"),
        if_match=got.headers["etag"])
    assert upd.data.description == "new" and upd.headers["etag"] != got.headers["etag"]
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.get_compartment("ocid1.compartment.oc1..nope", retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (404, "NotAuthorizedOrNotFound")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.create_compartment(oci.identity.models.CreateCompartmentDetails(
            compartment_id=tenancy, name=c.name, description="dup"), retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (409, "NotAuthorizedOrResourceAlreadyExists")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.create_compartment(oci.identity.models.CreateCompartmentDetails(
            compartment_id=tenancy, description="no name"), retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (400, "MissingParameter")
    assert "name" in e.value.message
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.create_compartment(oci.identity.models.CreateCompartmentDetails(
            compartment_id=tenancy, name="has space", description=""), retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (400, "InvalidParameter")


def test_delete_compartment_through_its_work_request(identity, tenancy, twin):
    parent = new_compartment(identity, tenancy)
    child = new_compartment(identity, parent.id)
    with pytest.raises(oci.exceptions.ServiceError) as e:
        identity.delete_compartment(parent.id, retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (409, "Conflict")
    assert "not empty" in e.value.message
    ops = oci.identity.IdentityClientCompositeOperations(identity)
    done = ops.delete_compartment_and_wait_for_state(
        child.id, wait_for_states=["SUCCEEDED"],
        waiter_kwargs={"max_interval_seconds": 1, "max_wait_seconds": 120})
    assert done.data.status == "SUCCEEDED"
    assert done.data.operation_type == "DELETE_COMPARTMENT"
    assert [(r.identifier, r.action_type) for r in done.data.resources] == [(child.id, "DELETED")]
    gone = identity.get_compartment(child.id).data
    assert gone.lifecycle_state == "DELETED" and gone.name.startswith(child.name + ".")
    # The parent is empty now.
    resp = identity.delete_compartment(parent.id)
    wr = identity.get_work_request(resp.headers["opc-work-request-id"]).data
    assert wr.status in ("ACCEPTED", "IN_PROGRESS")
    twin.advance("10m")
    assert identity.get_work_request(wr.id).data.status == "SUCCEEDED"


def test_cli_compartments_with_wait_for_state_and_all(cli, tenancy):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    made = cli("iam", "compartment", "create", "--compartment-id", tenancy, "--name", name,
               "--description", "from the CLI", "--wait-for-state", "ACTIVE",
               "--wait-interval-seconds", "1")
    assert made["data"]["lifecycle-state"] == "ACTIVE"
    cid = made["data"]["id"]
    for i in range(2):
        kid = cli("iam", "compartment", "create", "--compartment-id", cid, "--name", f"c{i}",
                  "--description", "")
        assert kid["data"]["lifecycle-state"] == "CREATING" and kid["etag"]
    listed = cli("iam", "compartment", "list", "--compartment-id", cid, "--all", "--page-size", "1")
    assert sorted(c["name"] for c in listed["data"]) == ["c0", "c1"]
    err = cli.fails("iam", "compartment", "get", "--compartment-id", "ocid1.compartment.oc1..nope",
                    "--no-retry")
    assert (err["status"], err["code"]) == (404, "NotAuthorizedOrNotFound")
