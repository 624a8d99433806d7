"""The reference architecture's container repository, through the real SDK
and CLI: create (synchronous, AVAILABLE), the collection list with its counts
and pagination, update, one name per compartment, configuration, delete."""

import oci
import pytest

m = oci.artifacts.models
NO_RETRY = oci.retry.NoneRetryStrategy()


@pytest.fixture(scope="module")
def art(client):
    return client(oci.artifacts.ArtifactsClient)


def test_repository_lifecycle_and_collection(art, refarch, cli):
    comp = refarch.compartment.id
    r = art.create_container_repository(m.CreateContainerRepositoryDetails(
        compartment_id=comp, display_name="refarch/web", is_public=False, is_immutable=False,
        readme=m.ContainerRepositoryReadme(content="# web", format="TEXT_MARKDOWN")))
    repo = r.data
    assert r.headers["etag"]
    assert repo.lifecycle_state == "AVAILABLE" and repo.display_name == "refarch/web"
    assert (repo.image_count, repo.layer_count, repo.layers_size_in_bytes) == (0, 0, 0)
    assert repo.namespace and repo.created_by and repo.readme.format == "TEXT_MARKDOWN"
    with pytest.raises(oci.exceptions.ServiceError) as e:
        art.create_container_repository(m.CreateContainerRepositoryDetails(
            compartment_id=comp, display_name="refarch/web"), retry_strategy=NO_RETRY)
    assert e.value.status == 409
    for name in ("refarch/api", "refarch/worker"):
        art.create_container_repository(m.CreateContainerRepositoryDetails(
            compartment_id=comp, display_name=name))
    page = art.list_container_repositories(comp, limit=2, sort_by="DISPLAYNAME",
                                           sort_order="ASC")
    assert isinstance(page.data, m.ContainerRepositoryCollection)
    assert [i.display_name for i in page.data.items] == ["refarch/api", "refarch/web"]
    assert page.data.repository_count == 3 and page.data.remaining_items_count == 1
    assert page.has_next_page
    every = oci.pagination.list_call_get_all_results(
        art.list_container_repositories, comp, limit=2).data
    assert sorted(i.display_name for i in every) == ["refarch/api", "refarch/web",
                                                     "refarch/worker"]
    upd = art.update_container_repository(repo.id, m.UpdateContainerRepositoryDetails(
        is_public=True, is_immutable=True)).data
    assert upd.is_public and upd.is_immutable
    with pytest.raises(oci.exceptions.ServiceError) as e:
        art.update_container_repository(repo.id, m.UpdateContainerRepositoryDetails(
            is_immutable=False), retry_strategy=NO_RETRY)
    assert e.value.status == 400
    with pytest.raises(oci.exceptions.ServiceError) as e:
        art.update_container_repository(repo.id, m.UpdateContainerRepositoryDetails(
            is_public=False), if_match="stale", retry_strategy=NO_RETRY)
    assert (e.value.status, e.value.code) == (412, "NoEtagMatch")
    cfg = art.get_container_configuration(comp).data
    assert cfg.namespace == repo.namespace and cfg.is_repository_created_on_first_push is False
    out = cli("artifacts", "container", "repository", "list", "--compartment-id", comp,
              "--display-name", "refarch/worker")
    assert [i["display-name"] for i in out["data"]["items"]] == ["refarch/worker"]
    art.delete_container_repository(repo.id)
    with pytest.raises(oci.exceptions.ServiceError) as e:
        art.get_container_repository(repo.id, retry_strategy=NO_RETRY)
    assert e.value.status == 404
    names = [i.display_name for i in art.list_container_repositories(comp).data.items]
    assert sorted(names) == ["refarch/api", "refarch/worker"]
