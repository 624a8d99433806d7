"""The reference architecture's HA MySQL DB system, through the real SDK and
CLI: create returns the body and a work request, the waiter follows it,
endpoints appear once ACTIVE, the three instances fail over when the
primary's AD goes down, shapes, versions, configurations and errors."""

import oci
import pytest

m = oci.mysql.models
WAIT = {"max_interval_seconds": 1, "max_wait_seconds": 300}
NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture(scope="module")
def db_client(client):
    return client(oci.mysql.DbSystemClient)


@pytest.fixture(scope="module")
def details(refarch):
    return m.CreateDbSystemDetails(
        compartment_id=refarch.compartment.id, display_name="refarch-db",
        shape_name="MySQL.4", subnet_id=refarch.subnets["db"].id, is_highly_available=True,
        nsg_ids=[refarch.nsgs["db"].id], admin_username="admin", admin_password="Sup3r-secret!",
        data_storage_size_in_gbs=100, hostname_label="db")


@pytest.fixture(scope="module")
def db(client, db_client, details):
    wr_client = client(oci.mysql.WorkRequestsClient)
    r = db_client.create_db_system(details)
    assert r.data.lifecycle_state == "CREATING" and r.data.endpoints == []
    assert r.headers["opc-work-request-id"] and r.headers["etag"]
    wr = oci.wait_until(wr_client, wr_client.get_work_request(r.headers["opc-work-request-id"]),
                        "status", "SUCCEEDED", max_interval_seconds=1,
                        max_wait_seconds=300).data
    assert wr.operation_type == "CREATE_DBSYSTEM" and wr.percent_complete == 100
    assert wr.resources[0].identifier == r.data.id
    return db_client.get_db_system(r.data.id).data


def test_ha_db_system_is_active_with_its_endpoint(db, db_client, refarch, identity, tenancy):
    ads = [a.name for a in identity.list_availability_domains(tenancy).data]
    assert db.lifecycle_state == "ACTIVE" and db.is_highly_available
    assert db.shape_name == "MySQL.4" and db.mysql_version.startswith("8.4")
    assert (db.availability_domain, db.fault_domain) == (ads[0], "FAULT-DOMAIN-1")
    assert db.current_placement.availability_domain == ads[0]
    [e] = db.endpoints
    assert (e.port, e.port_x, e.status, e.modes) == (3306, 33060, "ACTIVE", ["READ", "WRITE"])
    assert e.ip_address == db.ip_address and e.ip_address.startswith("10.0.2.")
    assert db.data_storage.data_storage_size_in_gbs == 100
    assert db.deletion_policy.is_delete_protected is False
    assert db.database_mode == "READ_WRITE" and db.access_mode == "UNRESTRICTED"
    listed = oci.pagination.list_call_get_all_results(
        db_client.list_db_systems, refarch.compartment.id, sort_by="displayName").data
    assert [d.id for d in listed] == [db.id]


def test_primary_fails_over_to_another_ad(db, db_client, twin):
    status, outage = twin.control("POST", "outages",
                                  {"availabilityDomain": db.availability_domain})
    assert status == 201, outage
    try:
        twin.advance("10s")
        d = db_client.get_db_system(db.id).data
        assert d.endpoints[0].status == "UPDATING"
        twin.advance("2m")
        d = db_client.get_db_system(db.id).data
        assert d.current_placement.availability_domain != db.availability_domain
        assert d.endpoints[0].status == "ACTIVE"
        assert d.endpoints[0].ip_address == db.ip_address
        assert "differs from preferred placement" in d.lifecycle_details
    finally:
        twin.control("DELETE", f"outages/{outage['id']}")


def test_catalogue_and_cli(client, refarch, cli, db):
    mysqlaas = client(oci.mysql.MysqlaasClient)
    shapes = {s.name: s for s in mysqlaas.list_shapes(refarch.compartment.id).data}
    assert shapes["MySQL.4"].cpu_core_count == 4 and shapes["MySQL.4"].memory_size_in_gbs == 32
    versions = mysqlaas.list_versions(refarch.compartment.id).data
    assert any(v.version_family.startswith("8.4") for v in versions)
    configs = oci.pagination.list_call_get_all_results(
        mysqlaas.list_configurations, refarch.compartment.id, shape_name="MySQL.4").data
    assert [c.type for c in configs] == ["DEFAULT"]
    cfg = mysqlaas.get_configuration(configs[0].id).data
    assert cfg.shape_name == "MySQL.4" and cfg.lifecycle_state == "ACTIVE"
    out = cli("mysql", "db-system", "get", "--db-system-id", db.id)
    assert out["data"]["is-highly-available"] is True
    wrs = cli("mysql", "work-request", "list", "--compartment-id", refarch.compartment.id)
    assert "CREATE_DBSYSTEM" in {w["operation-type"] for w in wrs["data"]}


def test_bad_requests_name_the_field(db_client, details):
    for field, value, needle in [("shape_name", "MySQL.Free", "shapeName"),
                                 ("admin_password", "password", "adminPassword"),
                                 ("mysql_version", "5.7.44", "mysqlVersion")]:
        kw = {k: getattr(details, k) for k in details.swagger_types}
        kw[field] = value
        bad = m.CreateDbSystemDetails(**kw)
        with pytest.raises(oci.exceptions.ServiceError) as e:
            db_client.create_db_system(bad, retry_strategy=NO_RETRY)
        assert e.value.status == 400 and e.value.message.startswith(needle), e.value.message
