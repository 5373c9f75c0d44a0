"""Data sets for ResNet Lab: one interface for a built-in synthetic set, CIFAR-10, Imagenette and image folders.

Every data set is decoded once into uint8 tensors (``ImageDataset``); training never touches PIL
per step. ``BatchStream`` keeps the training images on the training device and augments whole
batches on tensors (pad-4 random crop + flip, paper Sec. 4.2; or the ImageNet recipe of Sec. 3.4
scaled to the image size).

    root              where data sets live (``$RESNET_EDU_DATA`` or ``./data``); DataUnavailable
    dataset           ImageDataset and the helpers every loader shares (seeds, progress, statistics)
    catalog           load_dataset(name): the one entry point, and the table of data sets
    synthetic         the built-in set (synthetic_shapes: its shapes and textures)
    cifar             CIFAR-10
    imagenette        Imagenette, an image folder with ImageNet's class words
    folders           any ImageFolder tree, decoded in threads (decode: one photo; cache: on disk)
    subsets           the class-balanced subset behind every "only N images"
    augment, stream   the paper's augmentations on tensors; BatchStream and the test batches
    uploads           a student's own photo, decoded safely
    downloads/        CIFAR-10 and Imagenette archives: fetched, checked, unpacked

``from resnet_edu.data import X`` works for every name below.
"""

from resnet_edu.data.augment import AUGMENTATIONS, crop_flip, normalize, scale_crop_light
from resnet_edu.data.catalog import DATASETS, PHOTO_FOLDERS, load_dataset
from resnet_edu.data.cifar import CIFAR10_CLASSES, load_cifar10, resize_images
from resnet_edu.data.dataset import ImageDataset, balanced_subset, channel_stats, derive_seed
from resnet_edu.data.folders import BadDataFolder, load_imagefolder
from resnet_edu.data.imagenette import load_imagenette
from resnet_edu.data.root import DataUnavailable, default_data_root
from resnet_edu.data.stream import BatchStream, test_batches
from resnet_edu.data.synthetic import make_synthetic
from resnet_edu.data.synthetic_shapes import SYNTHETIC_CLASSES
from resnet_edu.data.uploads import BadImage, load_image_file

__all__ = [
    "DATASETS", "PHOTO_FOLDERS", "AUGMENTATIONS", "SYNTHETIC_CLASSES", "CIFAR10_CLASSES",
    "DataUnavailable", "BadDataFolder", "BadImage", "ImageDataset",
    "load_dataset", "make_synthetic", "load_cifar10", "load_imagefolder", "load_imagenette", "default_data_root",
    "BatchStream", "test_batches", "normalize", "crop_flip", "scale_crop_light", "balanced_subset",
    "load_image_file", "channel_stats", "derive_seed", "resize_images",
]
