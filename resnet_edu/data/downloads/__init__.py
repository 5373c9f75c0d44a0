"""Real data on disk: CIFAR-10 and Imagenette, downloaded or placed by hand, unpacked safely.

    key              archive                    unpacks into            about
    cifar10          cifar-10-python.tar.gz     cifar-10-batches-py/    163 MB, 60k 32x32 images
    imagenette-160   imagenette2-160.tgz        imagenette2-160/        95 MB, 13k photos, short side 160 px
    imagenette-320   imagenette2-320.tgz        imagenette2-320/        330 MB, the same photos at 320 px

    archives   what each archive is, where it stands in the data root, the lock, the "not here" message
    progress   how a download or an unpack reports (bytes, speed, time left) and stops
    fetch      downloading: resumable ``.part`` files, MD5-checked before they take the real name
    unpack     unpacking into a hidden folder renamed into place when complete; ``prepare``
    job        the analysis job that does all of it in the training process

An archive put into the data root by hand (on a machine without internet) is found and unpacked
the same way as a downloaded one. Everything reports progress through a callback and can be
stopped between two chunks.
"""

from resnet_edu.data.downloads.archives import (
                                                ARCHIVES,
                                                CIFAR10,
                                                IMAGENETTE_160,
                                                IMAGENETTE_320,
                                                Archive,
                                                imagenette_archive,
                                                ready_folder,
                                                state,
                                                unavailable,
)
from resnet_edu.data.downloads.fetch import CHUNK_BYTES, download_archive, file_md5
from resnet_edu.data.downloads.job import download_dataset_job
from resnet_edu.data.downloads.progress import DownloadStopped, Progress, ProgressCallback, format_seconds
from resnet_edu.data.downloads.unpack import extract_archive, prepare

__all__ = [
    "ARCHIVES", "CIFAR10", "IMAGENETTE_160", "IMAGENETTE_320", "Archive", "imagenette_archive", "ready_folder",
    "state", "unavailable", "CHUNK_BYTES", "download_archive", "file_md5", "download_dataset_job",
    "DownloadStopped", "Progress", "ProgressCallback", "format_seconds", "extract_archive", "prepare",
]
