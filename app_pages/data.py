"""Data page: pick a dataset, shape it with sliders, or draw and import your own points; and see it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from app_pages import data_draw as draw
from app_pages.common.choices import label_noise_control
from app_pages.common.session import get_lab, locked, session, shown
from app_pages.common.ui import end_page, friendly_errors, load_dataset, nearest
from core import plots
from core.config import DASHBOARD_LIMITS, OWN_POINTS, POINT_DATASETS, DataConfig
from core.data.pixels import to_pixels

LIMITS = DASHBOARD_LIMITS[DataConfig]  # the same ranges a link is held to
SUBSET_SIZES = (500, 1000, 2000, 4000, 8000, 20000, 50000)

LABELS = {
    "circles": "Circles", "moons": "Moons", "blobs": "Blobs (multi-class)", "xor": "XOR",
    "spiral": "Spiral", "gaussians": "Two Gaussians", "mnist": "MNIST digits (real)",
    "digits": "Digits (offline, 8×8 scaled up)", OWN_POINTS: "Your own points (draw or import)",
}
ORIGINS = {
    "generated": "Generated on the fly by scikit-learn / NumPy.",
    "downloaded": "Downloaded by torchvision into the data folder.",
    "local": "Read from the local data folder.",
    "test-split": "Only the official 10,000-image test set was found, so it is split into training and test parts. "
                  "For all 70,000 digits, put the four MNIST files in the data folder (or allow the download).",
    "offline": "An offline stand-in: scikit-learn's 1,797 small digits, scaled to 28×28.",
    "user": "Yours: drawn on the plane or imported from a CSV. Coordinates are standardised for training.",
}

lab = get_lab()
draw.adopt(lab)
# A model uploaded on a fresh session brings its kind of data: digits for a digit model.
current = lab.data_config or DataConfig(name="mnist" if lab.model_config and lab.model_config.takes_images
                                        else "circles")
st.title("Data")
name = st.selectbox("Dataset", list(LABELS), format_func=LABELS.get, key="data.name", disabled=locked("data"),
                    index=list(LABELS).index(current.name)) if shown("data") else current.name
# Your own points: the plane first, as wide as the screen allows (draw.columns); other data: the settings, then it.
left, right = draw.columns() if name == OWN_POINTS else st.columns([1, 2.4], gap="large")
with left:
    seed = st.number_input("Seed", *LIMITS["seed"], current.seed, key="data.seed",
                           disabled=locked("dseed")) if shown("dseed") else current.seed
    test_fraction = st.slider("Test fraction", *LIMITS["test_fraction"], current.test_fraction, 0.05, key="data.test",
                              disabled=locked("test")) if shown("test") else current.test_fraction
    val_fraction = st.slider(
        "Validation share", *LIMITS["val_fraction"], current.val_fraction, 0.05, key="data.val", disabled=locked("val"),
        help="The share of the training part held out to draw the validation curve and to stop early; 0 trains on "
             "all of it, with no validation curve.") if shown("val") else current.val_fraction
    label_noise = label_noise_control(current)  # #19: a share of the training labels flipped
    if name in ("mnist", "digits"):
        config = DataConfig(name=name, seed=seed, test_fraction=test_fraction, val_fraction=val_fraction,
                            label_noise=label_noise)
        try:
            available = len(load_dataset(config).y_train)  # cached: the subset below is cut from it
        except ValueError:
            available = 0  # the load below says why, once
        if available and shown("subset"):
            sizes = sorted({s for s in SUBSET_SIZES if s < available} | {available})
            train_size = st.select_slider("Training images (a subset keeps training fast)", sizes,
                                          value=nearest(sizes, current.train_size or min(4000, available)),
                                          format_func=lambda s: f"{s:,}", key=f"data.train_size.{name}",
                                          disabled=locked("subset"))
            config = replace(config, train_size=None if train_size == available else train_size)
        elif name == current.name:  # hidden by a teacher's link: the link's subset stays
            config = replace(config, train_size=current.train_size)
    elif name == OWN_POINTS:
        draw.controls(right, session().generated or DataConfig())
        config, data, missing = draw.drawn_data(DataConfig(seed=seed, test_fraction=test_fraction,
                                                           val_fraction=val_fraction, label_noise=label_noise), lab)
    else:
        n_samples = st.slider("Samples", *LIMITS["n_samples"], current.n_samples, 50, key="data.n",
                              disabled=locked("n")) if shown("n") else current.n_samples
        noise = st.slider("Noise", *LIMITS["noise"], current.noise, 0.01, key="data.noise",
                          disabled=locked("noise")) if shown("noise") else current.noise
        factor, n_classes = current.factor, current.n_classes
        if name == "circles" and shown("factor"):
            factor = st.slider("Inner/outer radius (factor)", *LIMITS["factor"], current.factor, 0.05,
                               key="data.factor",
                               disabled=locked("factor"))
        if name in ("blobs", "spiral") and shown("classes"):
            top = 6 if name == "blobs" else 3
            n_classes = st.slider("Classes" if name == "blobs" else "Arms", 2, top, min(max(current.n_classes, 2), top),
                                  key=f"data.classes.{name}", disabled=locked("classes"))
        config = DataConfig(name=name, n_samples=n_samples, noise=noise, factor=factor, n_classes=n_classes,
                            seed=seed, test_fraction=test_fraction, val_fraction=val_fraction, label_noise=label_noise)
        session().generated = config

if name == OWN_POINTS:
    draw.show(left, right, missing, in_use=lab.data.name if lab.data is not None else None)
else:
    data = None
    with friendly_errors("This dataset cannot be loaded"):
        data = load_dataset(config)
if data is None:
    if name == "mnist":
        st.caption("MNIST goes in the server's data folder: an admin puts the files there or sets NNLAB_DATA_DIR "
                   "to a folder that holds them. Meanwhile, the offline *Digits* dataset works everywhere.")
    end_page()
if config != lab.data_config:
    lab.set_data(config, data)
    session().synced = config

with left:
    st.markdown(f"**{len(data.y_train):,}** train · **{len(data.y_val):,}** validation · "
                f"**{len(data.y_test):,}** test",
                help="Training fits the weights; validation draws the curves and picks when to stop; "
                     "test is kept aside for the final, honest score on the Evaluate page.")
    st.caption(data.source)
    st.caption(ORIGINS[data.origin])
    if name in POINT_DATASETS:
        draw.export_button(*draw.points_and_names(data), key="data.export")
with right:
    if data.is_image:
        per_class = [np.flatnonzero(data.y_train == c)[:8] for c in range(data.n_classes)]
        idx = np.concatenate(per_class)
        st.plotly_chart(plots.image_grid_figure(to_pixels(data.X_train[idx, 0]),
                                                [data.class_names[data.y_train[i]] for i in idx], columns=8),
                        key="data.grid")
        st.plotly_chart(plots.class_histogram_figure(data.y_train, data.class_names), key="data.hist")
    elif name != OWN_POINTS:
        st.plotly_chart(plots.scatter_figure(data.X_train, data.y_train, data.X_test, data.y_test,
                                             data.class_names, X_val=data.X_val, y_val=data.y_val),
                        key="data.scatter")
st.page_link("app_pages/model.py", label="Next: shape the network", icon=":material/arrow_forward:")
