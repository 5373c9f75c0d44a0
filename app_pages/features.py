"""Features: what do plain and residual nets see in one image? Feature maps and attributions (Captum).

Low / mid / high-level features are the outputs of layer1 / layer2 / layer3 (and layer4 for
ImageNet-style nets). The computing is a task of the training process (resnet_edu.engine.feature_views,
with resnet_edu.inside.features); this page picks the nets and the image, starts the task once per
(nets, image, view) and draws the result from the store, the same in every tab. Besides the class's own
runs it shows torchvision's pretrained ImageNet ResNets and weights files (resnet_edu.weights):
a fully trained net has the edges -> textures -> objects hierarchy that a few minutes of
training cannot give. The sections are in app_pages/features_sections/.
"""

from __future__ import annotations

import streamlit as st
import torch

from app_pages.features_sections.loading import PHOTOS, imagenet_label, load_images, load_photos, net_classes
from app_pages.features_sections.nets import empty_state_ui, nets_ui
from app_pages.features_sections.views import explain_view_ui, image_ui, results_ui, view_ui
from app_pages.text import features as text
from resnet_edu import plots, weights
from resnet_edu.app import run_picking, security
from resnet_edu.inside import features
from ui import PLOT_CONFIG, get_store, t

st.title(t("🔍 Features: what the nets see", "🔍 특징 맵: 네트워크가 보는 것"))
st.markdown(t(**text.INTRO))

store = get_store()
runs, checkpoint_of = run_picking.trained_runs(store)
if not checkpoint_of:
    empty_state_ui()

chosen_nets, data_spec = nets_ui(runs, checkpoint_of)
images = None
try:
    if data_spec["name"] == PHOTOS:
        with st.spinner(t("Decoding Imagenette's photos (once)…", "Imagenette 사진을 읽는 중 (한 번만)…")):
            images = load_photos(data_spec["image_size"])
    elif data_spec["name"] is not None:  # pretrained nets and bare weights files: the user's own photos
        with st.spinner(t("Loading the data set…", "데이터셋을 불러오는 중…")):
            security.check_recorded_root(data_spec["root"])  # a run's folder from the CLI obeys the data roots too
            images = load_images(data_spec["name"], data_spec["root"], data_spec["image_size"])
except Exception as problem:  # CIFAR-10 not downloaded, a folder that moved: uploads still work
    st.warning(t(**text.data_unavailable(problem)))

if images is not None and chosen_nets and chosen_nets[0][1][0] == "fresh":  # fresh nets take the data's shape
    chosen_nets = [(name, (*source, images.num_classes, images.image_size, tuple(images.mean), tuple(images.std),
                           tuple(images.classes))) for name, source in chosen_nets]

if chosen_nets and (chosen_nets[0][1][0] != "fresh" or images is not None):
    picked, truth = image_ui(images, data_spec["image_size"])
    if picked is not None:
        left, right = st.columns([1, 4])
        with left:
            caption = images.classes[truth] if (images is not None and truth is not None) else t("your image", "올린 이미지")
            st.plotly_chart(plots.image_figure(features.to_hwc_numpy(torch.from_numpy(picked)), title=caption,
                                               height=200), key="feat_image", config=PLOT_CONFIG)
        with right:
            try:
                own_classes = images is not None and data_spec["name"] != PHOTOS
                class_names = list(images.classes) if own_classes else net_classes(chosen_nets[0][1])
            except (ValueError, weights.WeightsUnavailable) as problem:  # corrupt, foreign or gone
                st.error(t(f"Cannot load this run's checkpoint ({problem}).",
                           f"이 실행의 체크포인트를 불러올 수 없습니다 ({problem})."))
                class_names = None
            if class_names is not None:
                view_name, target_class, view_options = view_ui(class_names)
                explain_view_ui(view_name)
        if class_names is not None:
            if data_spec["name"] == PHOTOS and truth is not None:  # Imagenette's class -> ImageNet's index
                truth = imagenet_label(images.classes[truth])
            results_ui(chosen_nets, picked, truth, view_name, target_class, view_options)
