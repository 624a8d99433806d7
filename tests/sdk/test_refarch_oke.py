"""OKE in the reference architecture, through the real SDK and CLI: an
enhanced cluster with VCN-native pod networking, a virtual node pool over the
three fault domains, resizing, virtual nodes seen NotReady during an FD
outage, kubeconfig, pod shapes, cluster options, work requests and errors."""

import oci
import pytest
import yaml

m = oci.container_engine.models
FDS = ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"]
WAIT = {"max_interval_seconds": 1, "max_wait_seconds": 120}


@pytest.fixture(scope="module")
def ce(client):
    return client(oci.container_engine.ContainerEngineClient)


@pytest.fixture(scope="module")
def ad1(identity, tenancy):
    return identity.list_availability_domains(tenancy).data[0].name


@pytest.fixture(scope="module")
def cluster(ce, refarch):
    ops = oci.container_engine.ContainerEngineClientCompositeOperations(ce)
    details = m.CreateClusterDetails(
        name="refarch-oke", compartment_id=refarch.compartment.id, vcn_id=refarch.vcn.id,
        kubernetes_version="v1.34.1", type="ENHANCED_CLUSTER",
        endpoint_config=m.CreateClusterEndpointConfigDetails(
            subnet_id=refarch.subnets["api"].id, is_public_ip_enabled=True,
            nsg_ids=[refarch.nsgs["api"].id]),
        cluster_pod_network_options=[m.OciVcnIpNativeClusterPodNetworkOptionDetails()],
        options=m.ClusterCreateOptions(service_lb_subnet_ids=[refarch.subnets["lb"].id]))
    wr = ops.create_cluster_and_wait_for_state(
        details, wait_for_states=["SUCCEEDED", "FAILED"], waiter_kwargs=WAIT).data
    assert wr.status == "SUCCEEDED" and wr.operation_type == "CLUSTER_CREATE"
    [res] = [r for r in wr.resources if r.entity_type == "cluster"]
    assert res.action_type == "CREATED"
    return ce.get_cluster(res.identifier).data


@pytest.fixture(scope="module")
def pool(ce, cluster, refarch, ad1):
    ops = oci.container_engine.ContainerEngineClientCompositeOperations(ce)
    details = m.CreateVirtualNodePoolDetails(
        compartment_id=refarch.compartment.id, cluster_id=cluster.id, display_name="web",
        size=3,
        placement_configurations=[m.PlacementConfiguration(
            availability_domain=ad1, fault_domain=FDS, subnet_id=refarch.subnets["pods"].id)],
        pod_configuration=m.PodConfiguration(
            subnet_id=refarch.subnets["pods"].id, shape="Pod.Standard.E4.Flex",
            nsg_ids=[refarch.nsgs["pods"].id]),
        initial_virtual_node_labels=[m.InitialVirtualNodeLabel(key="tier", value="web")],
        taints=[m.Taint(key="dedicated", value="web", effect="NoSchedule")])
    wr = ops.create_virtual_node_pool_and_wait_for_state(
        details, wait_for_states=["SUCCEEDED", "FAILED"], waiter_kwargs=WAIT).data
    assert wr.status == "SUCCEEDED" and wr.operation_type == "VIRTUALNODEPOOL_CREATE"
    [res] = [r for r in wr.resources if r.entity_type == "virtualnodepool"]
    return ce.get_virtual_node_pool(res.identifier).data


def test_enhanced_cluster_with_vcn_native_pods(ce, cluster, refarch):
    assert cluster.lifecycle_state == "ACTIVE"
    assert cluster.type == "ENHANCED_CLUSTER"
    assert cluster.vcn_id == refarch.vcn.id
    assert [o.cni_type for o in cluster.cluster_pod_network_options] == ["OCI_VCN_IP_NATIVE"]
    assert isinstance(cluster.cluster_pod_network_options[0],
                      m.OciVcnIpNativeClusterPodNetworkOptionDetails)
    assert cluster.endpoint_config.subnet_id == refarch.subnets["api"].id
    assert cluster.endpoint_config.is_public_ip_enabled is True
    assert cluster.endpoints.private_endpoint.startswith("10.0.0.")
    assert cluster.endpoints.private_endpoint.endswith(":6443")
    assert cluster.endpoints.public_endpoint.endswith(":6443")
    assert cluster.options.service_lb_subnet_ids == [refarch.subnets["lb"].id]
    listed = oci.pagination.list_call_get_all_results(
        ce.list_clusters, refarch.compartment.id, lifecycle_state=["ACTIVE"]).data
    assert [c.id for c in listed] == [cluster.id]
    r = ce.get_cluster(cluster.id)
    assert r.headers["etag"]


def test_kubeconfig_is_yaml_for_the_chosen_endpoint(ce, cluster):
    text = ce.create_kubeconfig(
        cluster.id, create_cluster_kubeconfig_content_details=m.CreateClusterKubeconfigContentDetails(
            token_version="2.0.0", endpoint="PUBLIC_ENDPOINT")).data.text
    cfg = yaml.safe_load(text)
    assert cfg["apiVersion"] == "v1"
    assert cfg["clusters"][0]["cluster"]["server"] == "https://" + cluster.endpoints.public_endpoint
    args = cfg["users"][0]["user"]["exec"]["args"]
    assert args[:3] == ["ce", "cluster", "generate-token"] and cluster.id in args
    assert cfg["current-context"] == cfg["contexts"][0]["name"]


def test_pool_spreads_nodes_over_the_three_fds(ce, pool, cluster, refarch, ad1):
    assert pool.lifecycle_state == "ACTIVE" and pool.size == 3
    assert pool.cluster_id == cluster.id and pool.kubernetes_version == "v1.34.1"
    assert pool.placement_configurations[0].fault_domain == FDS
    assert pool.pod_configuration.shape == "Pod.Standard.E4.Flex"
    assert [(t.key, t.effect) for t in pool.taints] == [("dedicated", "NoSchedule")]
    nodes = oci.pagination.list_call_get_all_results(ce.list_virtual_nodes, pool.id, limit=2).data
    assert sorted(n.fault_domain for n in nodes) == FDS
    for n in nodes:
        assert n.lifecycle_state == "ACTIVE" and n.availability_domain == ad1
        assert n.virtual_node_pool_id == pool.id and n.private_ip.startswith("10.0.")
        assert ce.get_virtual_node(pool.id, n.id).data.display_name == n.display_name
    pools = ce.list_virtual_node_pools(refarch.compartment.id, cluster_id=cluster.id).data
    assert [p.id for p in pools] == [pool.id]


def test_resize_rebalances_and_an_fd_outage_shows_in_virtual_nodes(ce, pool, twin, ad1):
    ops = oci.container_engine.ContainerEngineClientCompositeOperations(ce)
    wr = ops.update_virtual_node_pool_and_wait_for_state(
        pool.id, m.UpdateVirtualNodePoolDetails(size=6),
        wait_for_states=["SUCCEEDED", "FAILED"], waiter_kwargs=WAIT).data
    assert wr.status == "SUCCEEDED" and wr.operation_type == "VIRTUALNODEPOOL_UPDATE"
    nodes = oci.pagination.list_call_get_all_results(ce.list_virtual_nodes, pool.id).data
    assert sorted(n.fault_domain for n in nodes) == sorted(FDS * 2)
    status, outage = twin.control("POST", "outages",
                                  {"availabilityDomain": ad1, "faultDomain": "FAULT-DOMAIN-2"})
    assert status == 201, outage
    try:
        twin.advance("2m")
        nodes = ce.list_virtual_nodes(pool.id).data
        states = {(n.fault_domain, n.lifecycle_state) for n in nodes}
        assert states == {("FAULT-DOMAIN-1", "ACTIVE"), ("FAULT-DOMAIN-2", "NEEDS_ATTENTION"),
                          ("FAULT-DOMAIN-3", "ACTIVE")}
        assert all("NotReady" in n.lifecycle_details for n in nodes
                   if n.fault_domain == "FAULT-DOMAIN-2")
    finally:
        twin.control("DELETE", f"outages/{outage['id']}")
    twin.advance("1m")
    assert {n.lifecycle_state for n in ce.list_virtual_nodes(pool.id).data} == {"ACTIVE"}


def test_cli_waits_for_a_resize_and_lists_work_requests(cli, pool, refarch):
    out = cli("ce", "virtual-node-pool", "update", "--virtual-node-pool-id", pool.id,
              "--size", "3", "--force", "--wait-for-state", "SUCCEEDED",
              "--wait-interval-seconds", "1")
    assert out["data"]["status"] == "SUCCEEDED"
    got = cli("ce", "virtual-node-pool", "get", "--virtual-node-pool-id", pool.id)
    assert got["data"]["size"] == 3 and got["etag"]
    nodes = cli("ce", "virtual-node-pool", "list-virtual-nodes", "--virtual-node-pool-id",
                pool.id, "--all")
    assert sorted(n["fault-domain"] for n in nodes["data"]) == FDS
    wrs = cli("ce", "work-request", "list", "--compartment-id", refarch.compartment.id,
              "--resource-id", pool.id, "--all")
    ops = {w["operation-type"] for w in wrs["data"]}
    assert {"VIRTUALNODEPOOL_CREATE", "VIRTUALNODEPOOL_UPDATE"} <= ops
    logs = cli("ce", "work-request-log-entry", "list", "--compartment-id",
               refarch.compartment.id, "--work-request-id", wrs["data"][0]["id"])
    assert any("succeeded" in entry["message"] for entry in logs["data"])


def test_pod_shapes_and_cluster_options(ce, refarch):
    shapes = ce.list_pod_shapes(refarch.compartment.id).data
    assert {s.name for s in shapes} == {
        "Pod.Standard.A1.Flex", "Pod.Standard.E3.Flex", "Pod.Standard.E4.Flex"}
    e4 = next(s for s in shapes if s.name == "Pod.Standard.E4.Flex")
    assert e4.ocpu_options[0].max == 64
    opts = ce.get_cluster_options("all").data
    assert "v1.34.1" in opts.kubernetes_versions
    assert {o.cni_type for o in opts.cluster_pod_network_options} == {
        "OCI_VCN_IP_NATIVE", "FLANNEL_OVERLAY"}


def test_model_errors_are_400_with_the_models_message(ce, cluster, refarch, ad1):
    bad = m.CreateVirtualNodePoolDetails(
        compartment_id=refarch.compartment.id, cluster_id=cluster.id, display_name="bad",
        size=1,
        placement_configurations=[m.PlacementConfiguration(
            availability_domain=ad1, fault_domain=["FAULT-DOMAIN-1"],
            subnet_id=refarch.subnets["lb"].id)],
        pod_configuration=m.PodConfiguration(subnet_id=refarch.subnets["lb"].id,
                                             shape="Pod.Standard.E4.Flex"))
    with pytest.raises(oci.exceptions.ServiceError) as e:
        ce.create_virtual_node_pool(bad, retry_strategy=oci.retry.NoneRetryStrategy())
    assert (e.value.status, e.value.code) == (400, "InvalidParameter")
    assert "must be private" in e.value.message
    bad.pod_configuration = m.PodConfiguration(subnet_id=refarch.subnets["pods"].id,
                                               shape="Pod.Standard.E5.Flex")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        ce.create_virtual_node_pool(bad, retry_strategy=oci.retry.NoneRetryStrategy())
    assert e.value.status == 400 and "podConfiguration.shape" in e.value.message
    basic = m.CreateClusterDetails(
        name="basic", compartment_id=refarch.compartment.id, vcn_id=refarch.vcn.id,
        kubernetes_version="v1.20.0")
    with pytest.raises(oci.exceptions.ServiceError) as e:
        ce.create_cluster(basic, retry_strategy=oci.retry.NoneRetryStrategy())
    assert e.value.status == 400 and "kubernetesVersion" in e.value.message
    with pytest.raises(oci.exceptions.ServiceError) as e:
        ce.get_cluster("ocid1.cluster.oc1.iad.nope", retry_strategy=oci.retry.NoneRetryStrategy())
    assert (e.value.status, e.value.code) == (404, "NotAuthorizedOrNotFound")
