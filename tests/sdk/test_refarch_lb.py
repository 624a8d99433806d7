"""The reference architecture's load balancer, through the real SDK and CLI:
flexible shape (10-8000 Mbps), backend set with its health checker, backends,
listener, health, updateShape, its own work requests, and errors."""

import oci
import pytest

m = oci.load_balancer.models
WAIT = {"max_interval_seconds": 1, "max_wait_seconds": 120}
NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture(scope="module")
def lbc(client):
    return client(oci.load_balancer.LoadBalancerClient)


@pytest.fixture(scope="module")
def ops(lbc):
    return oci.load_balancer.LoadBalancerClientCompositeOperations(lbc)


@pytest.fixture(scope="module")
def lb(lbc, ops, refarch):
    details = m.CreateLoadBalancerDetails(
        compartment_id=refarch.compartment.id, display_name="refarch-lb", shape_name="flexible",
        shape_details=m.ShapeDetails(minimum_bandwidth_in_mbps=10, maximum_bandwidth_in_mbps=100),
        subnet_ids=[refarch.subnets["lb"].id], is_private=False,
        network_security_group_ids=[refarch.nsgs["lb"].id],
        backend_sets={"web": m.BackendSetDetails(
            policy="ROUND_ROBIN",
            health_checker=m.HealthCheckerDetails(protocol="HTTP", url_path="/healthz", port=8080),
            backends=[m.BackendDetails(ip_address="10.0.32.200", port=8080)])},
        listeners={"http": m.ListenerDetails(default_backend_set_name="web", port=80,
                                             protocol="HTTP")})
    # The composite waits for the work request, then returns the load balancer.
    lb = ops.create_load_balancer_and_wait_for_state(
        details, wait_for_states=["SUCCEEDED", "FAILED"], waiter_kwargs=WAIT).data
    assert isinstance(lb, m.LoadBalancer)
    [wr] = lbc.list_work_requests(lb.id).data
    assert wr.lifecycle_state == "SUCCEEDED" and wr.type == "CreateLoadBalancer"
    assert wr.error_details == [] and wr.load_balancer_id == lb.id
    return lb


def test_flexible_lb_with_backend_set_and_listener(lbc, lb, refarch):
    assert lb.lifecycle_state == "ACTIVE"
    assert lb.shape_name == "flexible"
    assert (lb.shape_details.minimum_bandwidth_in_mbps,
            lb.shape_details.maximum_bandwidth_in_mbps) == (10, 100)
    assert lb.subnet_ids == [refarch.subnets["lb"].id]
    assert lb.network_security_group_ids == [refarch.nsgs["lb"].id]
    assert lb.ip_addresses[0].is_public is True
    hc = lb.backend_sets["web"].health_checker
    assert (hc.protocol, hc.url_path, hc.port) == ("HTTP", "/healthz", 8080)
    assert (hc.interval_in_millis, hc.timeout_in_millis, hc.retries) == (10000, 3000, 3)
    assert [b.name for b in lb.backend_sets["web"].backends] == ["10.0.32.200:8080"]
    assert lb.listeners["http"].default_backend_set_name == "web"
    listed = oci.pagination.list_call_get_all_results(
        lbc.list_load_balancers, refarch.compartment.id).data
    assert [x.id for x in listed] == [lb.id]


def test_backends_health_and_sub_resources(lbc, ops, lb, twin):
    wr = ops.create_backend_and_wait_for_state(
        m.CreateBackendDetails(ip_address="10.0.32.201", port=8080, weight=2),
        lb.id, "web", wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    assert wr.type == "CreateBackend"
    backends = lbc.list_backends(lb.id, "web").data
    assert [(b.name, b.weight) for b in backends] == [("10.0.32.200:8080", 1),
                                                     ("10.0.32.201:8080", 2)]
    twin.advance("1m")
    # Nothing in the twin answers at these addresses: their checks fail.
    h = lbc.get_backend_health(lb.id, "web", "10.0.32.200:8080").data
    assert h.status == "CRITICAL"
    assert h.health_check_results[0].health_check_status == "CONNECT_FAILED"
    sh = lbc.get_backend_set_health(lb.id, "web").data
    assert sh.status == "CRITICAL" and sh.total_backend_count == 2
    assert sorted(sh.critical_state_backend_names) == ["10.0.32.200:8080", "10.0.32.201:8080"]
    assert lbc.get_load_balancer_health(lb.id).data.status == "CRITICAL"
    checker = lbc.get_health_checker(lb.id, "web").data
    assert checker.return_code == 200
    ops.delete_backend_and_wait_for_state(lb.id, "web", "10.0.32.201:8080",
                                          wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT)
    assert len(lbc.list_backends(lb.id, "web").data) == 1


def test_update_shape_and_bandwidth_bounds(lbc, ops, lb):
    wr = ops.update_load_balancer_shape_and_wait_for_state(
        lb.id, m.UpdateLoadBalancerShapeDetails(
            shape_name="flexible",
            shape_details=m.ShapeDetails(minimum_bandwidth_in_mbps=10,
                                         maximum_bandwidth_in_mbps=400)),
        wait_for_states=["SUCCEEDED"], waiter_kwargs=WAIT).data
    assert wr.lifecycle_state == "SUCCEEDED"
    assert lbc.get_load_balancer(lb.id).data.shape_details.maximum_bandwidth_in_mbps == 400
    for mn, mx in [(5, 100), (10, 8001), (500, 100)]:
        with pytest.raises(oci.exceptions.ServiceError) as e:
            lbc.update_load_balancer_shape(lb.id, m.UpdateLoadBalancerShapeDetails(
                shape_name="flexible", shape_details=m.ShapeDetails(
                    minimum_bandwidth_in_mbps=mn, maximum_bandwidth_in_mbps=mx)),
                retry_strategy=NO_RETRY)
        assert (e.value.status, e.value.code) == (400, "InvalidParameter")
        assert "between 10 and 8000" in e.value.message
    names = [s.name for s in lbc.list_shapes(lb.compartment_id).data]
    assert names[0] == "flexible" and "100Mbps" in names


def test_listener_errors_and_work_requests(lbc, lb, cli):
    dup = m.CreateListenerDetails(name="again", default_backend_set_name="web", port=80,
                                  protocol="HTTP")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        lbc.create_listener(dup, lb.id, retry_strategy=NO_RETRY)
    assert e.value.status == 400 and "already used by listener `http`" in e.value.message
    missing = m.CreateListenerDetails(name="x", default_backend_set_name="nope", port=81,
                                      protocol="HTTP")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        lbc.create_listener(missing, lb.id, retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (400, "InvalidParameter")
    assert e.value.message.startswith("defaultBackendSetName")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        lbc.get_backend_set(lb.id, "nope", retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (404, "NotAuthorizedOrNotFound")
    wrs = oci.pagination.list_call_get_all_results(lbc.list_work_requests, lb.id, limit=1).data
    assert wrs[0].type == "CreateLoadBalancer"
    assert all(w.lifecycle_state == "SUCCEEDED" for w in wrs)
    out = cli("lb", "backend-set", "get", "--load-balancer-id", lb.id, "--backend-set-name", "web")
    assert out["data"]["policy"] == "ROUND_ROBIN"
    out = cli("lb", "load-balancer-health", "get", "--load-balancer-id", lb.id)
    assert out["data"]["status"] == "CRITICAL"
