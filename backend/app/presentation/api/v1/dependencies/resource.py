from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

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
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
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


async def get_create_resource(request: Request, background: BackgroundTasks) -> CreateResource:
    container = container_of(request)
    return CreateResource(
        container.unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.clock,
        after_response_relay(background, container),
    )


async def get_get_resource(request: Request) -> GetResource:
    container = container_of(request)
    return GetResource(container.read_unit_of_work(ResourceUnitOfWork), container.access_policy)


async def get_list_resources(request: Request) -> ListResources:
    container = container_of(request)
    return ListResources(container.read_unit_of_work(ResourceUnitOfWork), container.access_policy)


async def get_update_resource(request: Request, background: BackgroundTasks) -> UpdateResource:
    container = container_of(request)
    return UpdateResource(
        container.unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.clock,
        after_response_relay(background, container),
    )


async def get_delete_resource(request: Request, background: BackgroundTasks) -> DeleteResource:
    container = container_of(request)
    return DeleteResource(
        container.unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.get(FILE_STORAGE),
        container.clock,
        after_response_relay(background, container),
    )


async def get_upload_file(request: Request, background: BackgroundTasks) -> UploadFile:
    container = container_of(request)
    return UploadFile(
        container.unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.get(FILE_STORAGE),
        container.get(CONTENT_TYPE_SNIFFER),
        container.clock,
        max_bytes=container.settings.max_upload_bytes,
        events=after_response_relay(background, container),
    )


async def get_list_files(request: Request) -> ListFiles:
    container = container_of(request)
    return ListFiles(container.read_unit_of_work(ResourceUnitOfWork), container.access_policy)


async def get_download_file(request: Request) -> DownloadFile:
    container = container_of(request)
    return DownloadFile(
        container.read_unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.get(FILE_STORAGE),
    )


async def get_delete_file(request: Request, background: BackgroundTasks) -> DeleteFile:
    container = container_of(request)
    return DeleteFile(
        container.unit_of_work(ResourceUnitOfWork),
        container.access_policy,
        container.get(FILE_STORAGE),
        container.clock,
        after_response_relay(background, container),
    )


CreateResourceDep = Annotated[CreateResource, Depends(get_create_resource)]
GetResourceDep = Annotated[GetResource, Depends(get_get_resource)]
ListResourcesDep = Annotated[ListResources, Depends(get_list_resources)]
UpdateResourceDep = Annotated[UpdateResource, Depends(get_update_resource)]
DeleteResourceDep = Annotated[DeleteResource, Depends(get_delete_resource)]
UploadFileDep = Annotated[UploadFile, Depends(get_upload_file)]
ListFilesDep = Annotated[ListFiles, Depends(get_list_files)]
DownloadFileDep = Annotated[DownloadFile, Depends(get_download_file)]
DeleteFileDep = Annotated[DeleteFile, Depends(get_delete_file)]
