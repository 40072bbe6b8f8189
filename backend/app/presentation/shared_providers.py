"""Keys of providers that one feature builds and others use: the feature that builds one lists
it in its `providers`; any feature may `container.get` it. Declared here, outside every feature,
so that using one does not import the feature that builds it (the import contracts forbid that).
"""

from __future__ import annotations

from app.application.interfaces.resource import FileStorage
from app.application.services.jobs import JobFactory
from app.presentation.container import ProviderKey

# Built by the resource feature: file contents, encrypted at rest (pipelines read files with it
# and store their texts with it).
FILE_STORAGE = ProviderKey[FileStorage]("resource.file_storage")
# Built by the job feature: makes background jobs of any declared kind.
JOB_FACTORY = ProviderKey[JobFactory]("job.factory")
