"""Home page: what NN Lab is and where to start."""

from __future__ import annotations

import streamlit as st

from core.showcase import example_caption, example_figure

st.title("NN Lab")
st.markdown(
    "Watch a neural network learn to tell classes apart. Pick a dataset, shape the network with "
    "sliders, train it and see the decision boundary form; then look at what it gets wrong and "
    "give it your own handwriting."
)
st.plotly_chart(example_figure(), key="home.example")
st.caption(example_caption())
steps = [
    ("app_pages/data.py", "1 · Data", "Circles, moons, XOR, spirals… or real MNIST digits.", ":material/scatter_plot:"),
    ("app_pages/model.py", "2 · Model", "Layers, units and activation, drawn as a network.", ":material/account_tree:"),
    ("app_pages/train.py", "3 · Train", "Learning rate, optimizer, batch size: live curves.",
     ":material/model_training:"),
    ("app_pages/evaluate.py", "4 · Evaluate", "Accuracy, F1, confusion matrix, the mistakes.", ":material/fact_check:"),
    ("app_pages/predict.py", "5 · Predict", "Upload a digit or click a point.", ":material/draw:"),
]
for column, (page, label, text, icon) in zip(st.columns(len(steps)), steps):
    with column.container(border=True):
        st.page_link(page, label=label, icon=icon)
        st.caption(text)
st.markdown(
    "**New here?** Start with *Circles* and an MLP: on the Train page, move the *units* slider from 1 to 16 "
    "and watch the boundary go from a straight line to a ring. Then set the learning rate to 10 and see "
    "what divergence looks like."
)
