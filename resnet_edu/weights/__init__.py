"""Trained weights in and out: a run's weights as a plain file, torchvision's pretrained ResNets,
and weights files a teacher brings, all loaded into this project's own nets.

A weights file here is a plain ``state_dict`` (``torch.save(model.state_dict(), path)``) with a
JSON file of the same name beside it (how to rebuild the net, the classes, the normalisation).
The module names follow torchvision's ResNet, so:

* ``build_model(...)`` + ``load_state_dict`` loads any exported run;
* an ImageNet-style net with projection shortcuts (option B, as in torchvision) and the 224-px
  stem loads into ``torchvision.models.resnet18()`` etc. with ``strict=True`` and gives the same
  outputs; the JSON says whether this is so, and why not when it is not;
* torchvision's pretrained weights (``IMAGENET1K_V1``: torchvision's own simple recipe, not the
  paper's; "v1.5" blocks for 50/101/152) load into ``build_model("imagenet", depth, 1000, shortcut_type="B")``, so every
  page's Captum code (feature maps, Grad-CAM, integrated gradients, lesions) works on them.

Every file is read with ``torch.load(..., weights_only=True)`` (no code runs), size-capped,
and its tensors are checked against the net they claim to be (``strict=True``); anything else
gets a ValueError with a sentence that says what is wrong.

    files       a weights file read safely and loaded into the net it describes; the weights folder
    pretrained  torchvision's pretrained ResNet-18…152, from its cache or downloaded in the training process
    export      a run's weights written as a plain state_dict and its JSON
"""

from resnet_edu.weights.export import (
                                       WEIGHTS_FORMAT,
                                       export_checkpoint,
                                       export_config,
                                       export_run,
                                       torchvision_compatibility,
)
from resnet_edu.weights.files import (
                                       IMAGENET_MEAN,
                                       IMAGENET_STD,
                                       MAX_JSON_BYTES,
                                       MAX_WEIGHTS_BYTES,
                                       PRETRAINED_IMAGE_SIZE,
                                       LoadedNet,
                                       build_loaded,
                                       describe_config,
                                       imagenet_categories,
                                       infer_config,
                                       load_weights,
                                       parse_sidecar,
                                       read_state_dict,
                                       sidecar_of,
                                       weights_files,
                                       weights_folder,
)
from resnet_edu.weights.pretrained import (
                                       WeightsUnavailable,
                                       download_pretrained_job,
                                       load_pretrained,
                                       pretrained_file,
                                       pretrained_unavailable_message,
                                       pretrained_weights,
)

__all__ = [
    "WEIGHTS_FORMAT", "export_checkpoint", "export_config", "export_run", "torchvision_compatibility",
    "IMAGENET_MEAN", "IMAGENET_STD", "MAX_JSON_BYTES", "MAX_WEIGHTS_BYTES", "PRETRAINED_IMAGE_SIZE", "LoadedNet",
    "build_loaded", "describe_config", "imagenet_categories", "infer_config", "load_weights", "parse_sidecar",
    "read_state_dict", "sidecar_of", "weights_files", "weights_folder", "WeightsUnavailable",
    "download_pretrained_job", "load_pretrained", "pretrained_file", "pretrained_unavailable_message",
    "pretrained_weights",
]
