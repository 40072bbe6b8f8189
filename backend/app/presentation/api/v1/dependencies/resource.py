from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.resource import ContentTypeSniffer, ResourceUnitOfWork
from app.application.use_cases.resource.create_resource import CreateResource
from app.application.use_cases.resource.delete_file import DeleteFile
from app.application.use_cases.resource.delete_resource import DeleteResource
from app.application.use_cases.resource.download_file import DownloadFile
from app.application.use_cases.resource.get_resource import GetResource
from app.application.use_cases.resource.list_files import ListFiles
from app.application.use_cases.resource.list_resources import ListResources
from app.application.use_cases.resource.update_resource import UpdateResource
from app.application.use_cases.resource.upload_file import UploadFile
from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer
from app.infrastructure.adapters.file_storage import LocalEncryptedFileStorage
from app.presentation.api.v1.dependencies.common import (
    AccessPolicyDep,
    AfterResponseRelayDep,
    ContainerDep,
    read_unit_of_work,
    unit_of_work,
)
from app.presentation.container import Provider, ProviderKey
from app.presentation.shared_providers import FILE_STORAGE

CONTENT_TYPE_SNIFFER = ProviderKey[ContentTypeSniffer]("resource.content_type_sniffer")

PROVIDERS = (
    Provider(
        key=FILE_STORAGE,
        build=lambda container: LocalEncryptedFileStorage(
            container.settings.storage_dir,
            container.key_ring,
        ),
    ),
    Provider(key=CONTENT_TYPE_SNIFFER, build=lambda _container: PuremagicContentTypeSniffer()),
)

ResourceUow = Annotated[ResourceUnitOfWork, Depends(unit_of_work(ResourceUnitOfWork))]
ReadResourceUow = Annotated[ResourceUnitOfWork, Depends(read_unit_of_work(ResourceUnitOfWork))]


async def get_create_resource(
    uow: ResourceUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> CreateResource:
    return CreateResource(uow, policy, container.clock, events)


async def get_get_resource(uow: ReadResourceUow, policy: AccessPolicyDep) -> GetResource:
    return GetResource(uow, policy)


async def get_list_resources(uow: ReadResourceUow, policy: AccessPolicyDep) -> ListResources:
    return ListResources(uow, policy)


async def get_update_resource(
    uow: ResourceUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> UpdateResource:
    return UpdateResource(uow, policy, container.clock, events)


async def get_delete_resource(
    uow: ResourceUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> DeleteResource:
    return DeleteResource(uow, policy, container.get(FILE_STORAGE), container.clock, events)


async def get_upload_file(
    uow: ResourceUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> UploadFile:
    return UploadFile(
        uow,
        policy,
        container.get(FILE_STORAGE),
        container.get(CONTENT_TYPE_SNIFFER),
        container.clock,
        max_bytes=container.settings.max_upload_bytes,
        events=events,
    )


async def get_list_files(uow: ReadResourceUow, policy: AccessPolicyDep) -> ListFiles:
    return ListFiles(uow, policy)


async def get_download_file(
    uow: ReadResourceUow, policy: AccessPolicyDep, container: ContainerDep
) -> DownloadFile:
    return DownloadFile(uow, policy, container.get(FILE_STORAGE))


async def get_delete_file(
    uow: ResourceUow,
    policy: AccessPolicyDep,
    container: ContainerDep,
    events: AfterResponseRelayDep,
) -> DeleteFile:
    return DeleteFile(uow, policy, container.get(FILE_STORAGE), container.clock, events)


CreateResourceDep = Annotated[CreateResource, Depends(get_create_resource)]
GetResourceDep = Annotated[GetResource, Depends(get_get_resource)]
ListResourcesDep = Annotated[ListResources, Depends(get_list_resources)]
UpdateResourceDep = Annotated[UpdateResource, Depends(get_update_resource)]
DeleteResourceDep = Annotated[DeleteResource, Depends(get_delete_resource)]
UploadFileDep = Annotated[UploadFile, Depends(get_upload_file)]
ListFilesDep = Annotated[ListFiles, Depends(get_list_files)]
DownloadFileDep = Annotated[DownloadFile, Depends(get_download_file)]
DeleteFileDep = Annotated[DeleteFile, Depends(get_delete_file)]
